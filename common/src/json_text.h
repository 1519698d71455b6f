/* What the JSON parser (json.c) and the scanner/validator (jsonscan.c) both read by the
 * same rules as jansson. Private to libhlcommon. */
#ifndef HL_JSON_TEXT_H
#define HL_JSON_TEXT_H

#include <stddef.h>

/* Length of the UTF-8 sequence at p (avail bytes readable), 0 when it is not a valid one:
 * ASCII is 1; overlong forms, encoded surrogates and code points above U+10FFFF are not
 * valid (jansson's rules). */
size_t hl_utf8_seq_len(const unsigned char *p, size_t avail);
/* The value of the four hex digits at p, -1 when fewer than four are readable or they are
 * not all hex digits. */
long hl_hex4(const unsigned char *p, size_t avail);

#endif
