/* Measures the JSON Schema validator on its hot path: one ~1 KB event envelope
 * (bench/event_sample.json) checked against schemas/event.schema.json, the way the gateway
 * checks every ingested event. The budget is 5 us per validation; this prints the figure
 * rather than asserting it, since timing on a shared CI machine is no test.
 *
 * Usage: bench_jsonschema [iterations] [schema] [instance] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "hl/jsonschema.h"
#include "hl/banned.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double run(const struct hl_schema *s, const json_t *inst, long n,
                  struct hl_schema_result *res, long *invalid)
{
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        *invalid += !hl_schema_validate(s, inst, res);
    return (now_ns() - t0) / (double)n;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    const char *schema_path = argc > 2 ? argv[2] : HL_SOURCE_DIR "/schemas/event.schema.json";
    const char *inst_path = argc > 3 ? argv[3] : HL_SOURCE_DIR "/bench/event_sample.json";
    char err[256];
    struct hl_schema *s;
    if (n <= 0) {
        fprintf(stderr, "bench_jsonschema: iterations must be positive\n");
        return 2;
    }
    if (hl_schema_compile_file(schema_path, &s, err, sizeof(err)) != HL_OK) {
        fprintf(stderr, "bench_jsonschema: %s\n", err);
        return 1;
    }
    json_error_t jerr;
    json_t *inst = json_load_file(inst_path, 0, &jerr);
    if (!inst) {
        fprintf(stderr, "bench_jsonschema: cannot load '%s': %s\n", inst_path, jerr.text);
        hl_schema_free(s);
        return 1;
    }
    char *text = json_dumps(inst, JSON_COMPACT);
    size_t bytes = text ? strlen(text) : 0;
    free(text);

    struct hl_schema_result res;
    hl_schema_result_init(&res, 0);
    long invalid = 0;
    run(s, inst, n / 10 + 1, NULL, &invalid); /* warm caches and the PCRE2 JIT */
    invalid = 0;
    double fast = run(s, inst, n, NULL, &invalid);
    double full = run(s, inst, n, &res, &invalid);
    printf("instance %zu bytes (compact), %ld iterations, %ld invalid\n", bytes, n, invalid);
    printf("yes/no:           %8.1f ns/validation  %12.0f validations/s\n", fast, 1e9 / fast);
    printf("collecting errors: %7.1f ns/validation  %12.0f validations/s\n", full, 1e9 / full);
    hl_schema_result_release(&res);
    json_decref(inst);
    hl_schema_free(s);
    return invalid ? 1 : 0;
}
