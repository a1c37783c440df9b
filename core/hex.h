/* Hexadecimal digits, both ways (header only: config/ and router/ use it without linking). */
#ifndef RW_CORE_HEX_H
#define RW_CORE_HEX_H

/* The value of a hex digit (either case), or -1. */
static inline int rw_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Lowercase digits, indexed by value. */
#define RW_HEX_LOWER "0123456789abcdef"

#endif
