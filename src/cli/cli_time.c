/* Time arguments of the `ward` command (--at, --since): one parser for every command. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return n > 0;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int cli_parse_time(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    if (all_digits(s, n)) {
        if (n > 12) /* beyond year 33658: a typo, not a time */
            return 0;
        *out = (int64_t)strtoll(s, NULL, 10);
        return 1;
    }
    if (n != 20 || !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) || s[7] != '-' ||
        !all_digits(s + 8, 2) || s[10] != 'T' || !all_digits(s + 11, 2) || s[13] != ':' ||
        !all_digits(s + 14, 2) || s[16] != ':' || !all_digits(s + 17, 2) || s[19] != 'Z')
        return 0;
    struct tm tm = {0};
    tm.tm_year = num(s, 4) - 1900;
    tm.tm_mon = num(s + 5, 2) - 1;
    tm.tm_mday = num(s + 8, 2);
    tm.tm_hour = num(s + 11, 2);
    tm.tm_min = num(s + 14, 2);
    tm.tm_sec = num(s + 17, 2);
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return 0;
    int mday = tm.tm_mday;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != mday) /* 31 February and the like */
        return 0;
    *out = (int64_t)t;
    return 1;
}
