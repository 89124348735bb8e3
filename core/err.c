/* err.c - filling wb_err records. See err.h. */
#include "err.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

wb_status wb_err_set(wb_err *err, wb_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        err->arg = 0;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        /* glibc's %g writes a NaN with its sign bit set as "-nan" (a
         * subtraction's NaN, most of them): the message says "nan". Only a
         * word of its own: a file named run-nan.png keeps its name */
        for (char *p = strstr(err->msg, "-nan"); p; p = strstr(p + 1, "-nan")) {
            char before = p == err->msg ? ' ' : p[-1], after = p[4];
            if (strchr(" ([=,", before) && !isalnum((unsigned char)after) &&
                !(after && strchr("._-/", after))) /* strchr finds the NUL too */
                memmove(p, p + 1, strlen(p + 1) + 1);
        }
    }
    return code;
}

wb_status wb_err_arg(wb_err *err, int arg, wb_status st)
{
    if (err && st != WB_OK)
        err->arg = arg;
    return st;
}

wb_status wb_err_prefix(wb_err *err, const char *fmt, ...)
{
    if (!err)
        return WB_OK;
    char head[WB_ERR_MSG], old[WB_ERR_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t h = strlen(head);
    if (h >= sizeof err->msg)
        h = sizeof err->msg - 1;
    memcpy(err->msg, head, h);
    size_t room = sizeof err->msg - 1 - h, o = strnlen(old, room);
    memcpy(err->msg + h, old, o);
    err->msg[h + o] = '\0';
    return err->code;
}

/* Cut points move off UTF-8 continuation bytes, so no character is split. */
const char *wb_err_path(char buf[WB_ERR_PATH], const char *path)
{
    size_t n = strlen(path);
    if (n < WB_ERR_PATH)
        return path;
    size_t head = (WB_ERR_PATH - 4) / 3, tail = WB_ERR_PATH - 4 - head;
    while (head > 0 && ((unsigned char)path[head] & 0xC0) == 0x80)
        head--;
    const char *end = path + n - tail;
    while (*end && ((unsigned char)*end & 0xC0) == 0x80)
        end++;
    memcpy(buf, path, head);
    memcpy(buf + head, "...", 3);
    memcpy(buf + head + 3, end, strlen(end) + 1);
    return buf;
}

const char *wb_status_name(wb_status code)
{
    static const char *names[] = {
        "OK", "EINVAL", "ESHAPE", "ERANGE", "ENOMEM",
        "EIO", "EFORMAT", "ESTATE", "ENONFINITE", "ENOENT", "ECREATE",
    };
    if ((unsigned)code < sizeof names / sizeof names[0])
        return names[code];
    return "EUNKNOWN";
}
