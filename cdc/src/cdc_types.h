/* PostgreSQL values, in their text output form, as JSON (the `data` of a table event).
 *
 *   bool                          true / false
 *   int2, int4, int8, oid         numbers
 *   float4, float8                numbers, exactly as PostgreSQL wrote them (shortest
 *                                 round-trip form); NaN and ±Infinity as strings
 *   numeric                       a number, as written ("12.50"), when a double holds it
 *                                 exactly (at most 15 significant digits), else the exact
 *                                 decimal as a string
 *   json, jsonb                   the JSON value itself, as PostgreSQL wrote it
 *   bytea                         base64 (standard alphabet, padded)
 *   timestamp, timestamptz        ISO 8601 ("2026-12-05T12:00:00.123456", with "Z" for
 *                                 timestamptz: the stream's session runs in UTC)
 *   arrays of the above           JSON arrays (nested for more dimensions), NULL as null
 *   anything else                 the text form as a string (text, uuid, date, enums, ...)
 *
 * Numbers and JSON are copied as PostgreSQL wrote them rather than through a double, so
 * nothing is rounded or re-spelled. Text that is not UTF-8 (a SQL_ASCII database) becomes
 * the string "(not UTF-8)" rather than invalid JSON. The replication session sets
 * client_encoding UTF8, DateStyle ISO, TimeZone UTC, IntervalStyle iso_8601 and
 * extra_float_digits 3, which these conversions rely on.
 * Pure: unit-tested in tests/unit/test_cdc_types.c. @locality any thread. */
#ifndef CDC_TYPES_H
#define CDC_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "hl/buf.h"

/* pg_type OIDs (fixed in PostgreSQL's catalog, src/include/catalog/pg_type.dat). */
#define CDC_OID_BOOL 16
#define CDC_OID_BYTEA 17
#define CDC_OID_INT8 20
#define CDC_OID_INT2 21
#define CDC_OID_INT4 23
#define CDC_OID_TEXT 25
#define CDC_OID_OID 26
#define CDC_OID_JSON 114
#define CDC_OID_FLOAT4 700
#define CDC_OID_FLOAT8 701
#define CDC_OID_TIMESTAMP 1114
#define CDC_OID_TIMESTAMPTZ 1184
#define CDC_OID_NUMERIC 1700
#define CDC_OID_JSONB 3802

/* Appends the JSON text for the text form (len bytes, not NUL-terminated) of a value of
 * type oid. A value that does not parse as its type claims becomes a string. */
void cdc_value_write(struct hl_buf *out, uint32_t oid, const char *text, size_t len);
/* Appends s as a JSON string, or "(not UTF-8)" when it is not valid UTF-8. */
void cdc_json_string(struct hl_buf *out, const char *s, size_t len);
/* The element type of an array type, 0 when oid is not a known array type. */
uint32_t cdc_array_elem(uint32_t oid);

#endif
