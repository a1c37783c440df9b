/*
 * Regular expressions in route configs, compile-checked at load so a bad pattern is a
 * config error with a position, never a runtime surprise.
 *
 * Envoy uses RE2; ringway checks (and later matches) with PCRE2, which accepts a superset.
 * Differences a user could hit: PCRE2 allows backreferences (refused here, since RE2 has
 * none), lookaround, atomic groups and possessive quantifiers (accepted, RE2 refuses them);
 * RE2's program-size limit (Envoy's max_program_size) is not enforced; both are compiled
 * as UTF-8.  Only the pattern string is kept in the config: the data path compiles its own
 * copy, so nothing here outlives the check.  PCRE2 allocates through config/'s allocator,
 * so the failmalloc tests reach it too.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

static void *pcre_alloc(size_t size, void *data)
{
	(void)data;
	return rw__malloc(size);
}

static void pcre_free(void *p, void *data)
{
	(void)data;
	free(p);
}

int rw__check_regex(struct rw__ctx *ctx, const struct rw__node *node, const char *pattern,
                    uint32_t *captures)
{
	pcre2_general_context *general = NULL;
	pcre2_compile_context *cc = NULL;
	pcre2_code *code = NULL;
	PCRE2_UCHAR message[160];
	PCRE2_SIZE offset = 0;
	uint32_t backrefs = 0;
	int error = 0, rc = 0;

	general = pcre2_general_context_create(pcre_alloc, pcre_free, NULL);
	cc = general ? pcre2_compile_context_create(general) : NULL;
	if (!cc) {
		rc = rw__fail_oom(ctx);
		goto out;
	}
	code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &error, &offset,
	                     cc);
	if (!code && error == PCRE2_ERROR_HEAP_FAILED) {
		rc = rw__fail_oom(ctx);
		goto out;
	}
	if (!code) {
		pcre2_get_error_message(error, message, sizeof(message));
		rc = rw__fail(ctx, node, "invalid regex: %s at offset %zu", (const char *)message,
		              (size_t)offset);
		goto out;
	}
	pcre2_pattern_info(code, PCRE2_INFO_BACKREFMAX, &backrefs);
	if (backrefs) {
		rc = rw__fail(ctx, node,
		              "invalid regex: backreferences are not supported (Envoy "
		              "uses RE2)");
		goto out;
	}
	if (captures)
		pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, captures);
out:
	pcre2_code_free(code);
	pcre2_compile_context_free(cc);
	pcre2_general_context_free(general);
	return rc;
}

struct regex_matcher {
	char *pattern;
	const struct rw__node *node;
};

static int rm_regex(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct regex_matcher *rm = obj;

	rm->node = v;
	return rw__get_string(ctx, v, &rm->pattern);
}

static const struct rw__field regex_matcher_fields[] = {
    /* Deprecated RE2 engine options: nothing to do with them, as in recent Envoy. */
    RW__IGNORED("google_re2"),
    RW__FIELD("regex", rm_regex),
};

int rw__get_regex_matcher(struct rw__ctx *ctx, const struct rw__node *map, char **pattern,
                          uint32_t *captures)
{
	struct regex_matcher rm = {NULL, NULL};
	size_t saved;
	int rc = rw__walk_map(ctx, map, regex_matcher_fields, RW__N(regex_matcher_fields), &rm);

	if (rc == 0 && !rm.pattern)
		rc = rw__fail(ctx, map, "missing required field 'regex'");
	if (rc == 0) {
		saved = rw__path_key(ctx, "regex", 5);
		if (!rm.pattern[0])
			rc = rw__fail(ctx, rm.node, "regex must not be empty");
		else
			rc = rw__check_regex(ctx, rm.node, rm.pattern, captures);
		if (rc == 0)
			rw__path_pop(ctx, saved);
	}
	if (rc) {
		free(rm.pattern);
		return rc;
	}
	free(*pattern);
	*pattern = rm.pattern;
	return 0;
}

struct substitute {
	char *pattern, *substitution;
	uint32_t captures;
	const struct rw__node *sub_node;
};

static int sub_pattern(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct substitute *s = obj;

	return rw__get_regex_matcher(ctx, v, &s->pattern, &s->captures);
}

static int sub_substitution(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct substitute *s = obj;

	s->sub_node = v;
	return rw__get_string(ctx, v, &s->substitution);
}

static const struct rw__field substitute_fields[] = {
    RW__FIELD("pattern", sub_pattern),
    RW__FIELD("substitution", sub_substitution),
};

/* RE2::Rewrite syntax: \0..\9 name groups, \\ is a backslash; anything else is an error. */
static int check_substitution(struct rw__ctx *ctx, const struct substitute *s)
{
	const char *t = s->substitution;

	for (size_t i = 0; t[i]; i++) {
		if (t[i] != '\\')
			continue;
		i++;
		if (t[i] == '\\')
			continue;
		if (t[i] < '0' || t[i] > '9')
			return rw__fail(ctx, s->sub_node,
			                "invalid substitution: '\\' must be followed by a digit or "
			                "'\\' (offset %zu)",
			                i - 1);
		if ((uint32_t)(t[i] - '0') > s->captures)
			return rw__fail(ctx, s->sub_node,
			                "substitution uses \\%c but the pattern has %u capture "
			                "group(s)",
			                t[i], s->captures);
	}
	return 0;
}

int rw__get_regex_substitute(struct rw__ctx *ctx, const struct rw__node *map, char **pattern,
                             char **substitution)
{
	struct substitute s = {NULL, NULL, 0, NULL};
	size_t saved;
	int rc = rw__walk_map(ctx, map, substitute_fields, RW__N(substitute_fields), &s);

	if (rc == 0 && !s.pattern)
		rc = rw__fail(ctx, map, "missing required field 'pattern'");
	if (rc == 0 && !s.substitution)
		rc = rw__fail(ctx, map, "missing required field 'substitution'");
	if (rc == 0) {
		saved = rw__path_key(ctx, "substitution", 12);
		rc = check_substitution(ctx, &s);
		if (rc == 0)
			rw__path_pop(ctx, saved);
	}
	if (rc) {
		free(s.pattern);
		free(s.substitution);
		return rc;
	}
	*pattern = s.pattern;
	*substitution = s.substitution;
	return 0;
}
