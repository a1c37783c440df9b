/*
 * The config served when neither --config-path nor --config-yaml is given: plain Envoy v3
 * YAML (print it with --print-default-config, edit, pass back with -c).  Port 10000 proxies
 * TCP to an echo listener on 10001, so `nc 127.0.0.1 10000` works with nothing else running.
 */
#ifndef RW_SERVER_DEFAULT_CONFIG_H
#define RW_SERVER_DEFAULT_CONFIG_H

static const char rw_default_config[] =
    "# ringway's embedded default: a TCP proxy in front of an echo service.\n"
    "#   nc 127.0.0.1 10000      (type a line: it comes back through the proxy)\n"
    "static_resources:\n"
    "  listeners:\n"
    "  - name: proxy\n"
    "    address:\n"
    "      socket_address: { address: 127.0.0.1, port_value: 10000 }\n"
    "    filter_chains:\n"
    "    - filters:\n"
    "      - name: envoy.filters.network.tcp_proxy\n"
    "        typed_config:\n"
    "          \"@type\": "
    "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy\n"
    "          stat_prefix: proxy\n"
    "          cluster: echo\n"
    "          idle_timeout: 300s\n"
    "  - name: echo\n"
    "    address:\n"
    "      socket_address: { address: 127.0.0.1, port_value: 10001 }\n"
    "    filter_chains:\n"
    "    - filters:\n"
    "      - name: envoy.filters.network.echo\n"
    "        typed_config:\n"
    "          \"@type\": type.googleapis.com/envoy.extensions.filters.network.echo.v3.Echo\n"
    "  clusters:\n"
    "  - name: echo\n"
    "    type: STATIC\n"
    "    connect_timeout: 1s\n"
    "    lb_policy: ROUND_ROBIN\n"
    "    load_assignment:\n"
    "      cluster_name: echo\n"
    "      endpoints:\n"
    "      - lb_endpoints:\n"
    "        - endpoint:\n"
    "            address:\n"
    "              socket_address: { address: 127.0.0.1, port_value: 10001 }\n";

#endif
