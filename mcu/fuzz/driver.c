/* A stand-in for libFuzzer's main where its runtime is missing (gcc builds, `make fuzz-gcc`):
 * replays every input of the corpus folders, then mutates them (bit flips, byte changes,
 * inserts, deletions, splices) with a seeded generator until -runs or -max_total_time is
 * reached. Not coverage-guided; ASan and UBSan still stop at the first fault.
 *
 *   driver [-seed=N] [-runs=N] [-max_total_time=S] DIR_OR_FILE... */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUTS 4096
#define MAX_LEN 8192

static uint8_t *inputs[MAX_INPUTS];
static size_t lens[MAX_INPUTS], n_inputs;
static uint64_t rng_state = 88172645463325252ull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static void load(const char *path)
{
    FILE *f;
    uint8_t *buf;
    size_t n;
    if (n_inputs == MAX_INPUTS || (f = fopen(path, "rb")) == NULL) {
        return;
    }
    buf = malloc(MAX_LEN);
    n = buf == NULL ? 0 : fread(buf, 1, MAX_LEN, f);
    fclose(f);
    if (buf == NULL) {
        return;
    }
    inputs[n_inputs] = buf;
    lens[n_inputs++] = n;
}

static void load_arg(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    char full[4096];
    if (stat(path, &st) != 0) {
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        load(path);
        return;
    }
    if ((d = opendir(path)) == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.' && snprintf(full, sizeof full, "%s/%s", path, e->d_name) > 0) {
            load(full);
        }
    }
    closedir(d);
}

static size_t mutate(uint8_t *b, size_t n)
{
    int k, edits = 1 + (int)(rnd() % 4u);
    for (k = 0; k < edits; k++) {
        size_t at = n ? rnd() % n : 0;
        switch (rnd() % 6u) {
        case 0:
            if (n) b[at] ^= (uint8_t)(1u << (rnd() % 8u));
            break;
        case 1:
            if (n) b[at] = (uint8_t)rnd();
            break;
        case 2:
            if (n < MAX_LEN) {
                memmove(b + at + 1, b + at, n - at);
                b[at] = (uint8_t)(rnd() % 3u == 0u ? 0u : rnd());
                n++;
            }
            break;
        case 3:
            if (n > 1) {
                memmove(b + at, b + at + 1, n - at - 1);
                n--;
            }
            break;
        case 4: { /* splice another input's tail */
            size_t j = rnd() % n_inputs, from = lens[j] ? rnd() % lens[j] : 0;
            size_t m = lens[j] - from;
            if (at + m > MAX_LEN) m = MAX_LEN - at;
            memcpy(b + at, inputs[j] + from, m);
            n = at + m;
            break;
        }
        default:
            if (n) n = at + 1; /* truncate */
            break;
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    long runs = -1, max_s = 10, done = 0;
    int i;
    time_t start = time(NULL);
    static uint8_t buf[MAX_LEN];
    for (i = 1; i < argc; i++) {
        if (strncmp(argv[i], "-seed=", 6) == 0) {
            rng_state ^= strtoull(argv[i] + 6, NULL, 10) * 0x9E3779B97F4A7C15ull;
        } else if (strncmp(argv[i], "-runs=", 6) == 0) {
            runs = strtol(argv[i] + 6, NULL, 10);
        } else if (strncmp(argv[i], "-max_total_time=", 16) == 0) {
            max_s = strtol(argv[i] + 16, NULL, 10);
        } else if (argv[i][0] != '-') {
            load_arg(argv[i]);
        }
    }
    if (n_inputs == 0) {
        static uint8_t empty[1];
        inputs[0] = empty;
        lens[n_inputs++] = 0;
    }
    for (i = 0; i < (int)n_inputs; i++, done++) {
        LLVMFuzzerTestOneInput(inputs[i], lens[i]);
    }
    while ((runs < 0 || done < runs) && time(NULL) - start < max_s) {
        size_t j = rnd() % n_inputs, n = lens[j];
        memcpy(buf, inputs[j], n);
        n = mutate(buf, n);
        LLVMFuzzerTestOneInput(buf, n);
        done++;
    }
    printf("#%ld DONE (replayed %lu corpus inputs, mutated %ld, not coverage-guided)\n", done,
           (unsigned long)n_inputs, done - (long)n_inputs);
    return 0;
}
