/*
 * A tiny authoritative DNS server for the resolver tests: UDP on 127.0.0.1, a random port,
 * answering A and AAAA from a table the test changes while it runs.  Unknown names get
 * NXDOMAIN, known names without records of the asked type an empty NOERROR (NODATA).  It can
 * drop every query (timeouts) or answer a name with a chosen rcode (SERVFAIL), and counts
 * the queries it receives so tests can tell a cached or local answer from a real query.
 */
#ifndef RW_TESTS_DNS_SERVER_H
#define RW_TESTS_DNS_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#define DNS_TYPE_A    1
#define DNS_TYPE_AAAA 28

struct dns_server;

/* Bind 127.0.0.1:0 and start answering; aborts on failure. */
struct dns_server *dns_server_start(void);
void dns_server_stop(struct dns_server *s);
uint16_t dns_server_port(const struct dns_server *s);

/* Make name exist with no records (replacing any), then add addresses ("192.0.2.1",
 * "2001:db8::1") each with its own TTL. */
void dns_server_set(struct dns_server *s, const char *name);
void dns_server_add(struct dns_server *s, const char *name, const char *addr, uint32_t ttl);
/* Answer name with this rcode instead (2 = SERVFAIL); 0 restores normal answers. */
void dns_server_set_rcode(struct dns_server *s, const char *name, unsigned rcode);
/* Forget name: NXDOMAIN from now on. */
void dns_server_remove(struct dns_server *s, const char *name);
/* Drop (never answer) every query while on. */
void dns_server_drop(struct dns_server *s, bool on);

/* Queries received for name (NULL: any name) of type qtype (0: any type). */
unsigned dns_server_queries(struct dns_server *s, const char *name, unsigned qtype);

#endif
