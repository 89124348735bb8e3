/* err.h - status codes and the error record every fallible core call fills.
 *
 * The core never raises, exits or prints on user input: a function that can
 * fail returns a wb_status and fills a caller-provided wb_err with a message
 * naming the operand, what was expected and what was found. On failure
 * nothing observable has changed. There is no global last-error.
 */
#ifndef WB_ERR_H
#define WB_ERR_H

typedef enum wb_status {
    WB_OK = 0,
    WB_EINVAL,      /* bad argument value (negative rate, unknown name) */
    WB_ESHAPE,      /* shapes do not fit: message carries both shapes */
    WB_ERANGE,      /* size or index out of range, or size overflow */
    WB_ENOMEM,      /* allocation failed */
    WB_EIO,         /* read/write/fsync/rename failed */
    WB_EFORMAT,     /* malformed file: bad magic, truncated, bad header */
    WB_ESTATE,      /* call out of order (backward before forward) */
    WB_ENONFINITE,  /* NaN or infinity where a finite number is required */
    WB_ENOENT,      /* input file does not exist or cannot be opened */
    WB_ECREATE      /* output file cannot be created (missing or read-only
                       folder): a kind of its own, so callers need not read
                       the message to tell it from other I/O failures */
} wb_status;

#define WB_ERR_MSG 512

/* `arg` says which operand a failure is about, as a value, so that a binding
 * can blame the right Lua argument without reading the message: the 1-based
 * position of the failing parameter in the core function's own C signature
 * (wb_sce_forward(ce, logits, labels, ...): 2 = logits, 3 = labels), or 0
 * when the failure is not about one operand (out of memory, I/O, a call out
 * of order, a count of operands). Set by wb_dense_new, wb_dense_forward,
 * wb_dense_backward(_logits), wb_activation_forward/backward, wb_sce_forward
 * and wb_optim_step; every other failure leaves 0.
 *
 * Bindings map it to their Lua argument position: where the Lua call mirrors
 * the C signature (the object as self, then the same operands in order, as
 * layer:backward(x, grad) for wb_dense_backward(d, x, grad_y, ...)) the two
 * are equal; elsewhere the binding translates (opt:step(params, grads) has no
 * `n`, so wb_optim_step's 3 and 4 become 2 and 3, its 2 becomes 0). */
typedef struct wb_err {
    wb_status code;
    int arg;
    char msg[WB_ERR_MSG];
} wb_err;

/* Fill err (may be NULL) with code and a printf-style message, arg 0;
 * returns code so that `return wb_err_set(err, WB_EINVAL, "...")` reads
 * naturally. */
wb_status wb_err_set(wb_err *err, wb_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Mark operand `arg` as the one at fault when st is a failure already filled
 * into err (may be NULL); returns st, so that checks chain:
 * `if (wb_err_arg(err, 2, check(x, "input", err))) return ...`. */
wb_status wb_err_arg(wb_err *err, int arg, wb_status st);

/* Prefix an existing message: "path: " + old message. Keeps code and arg. */
wb_status wb_err_prefix(wb_err *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Paths longer than this are shown elided in messages (wb_err_path). */
#define WB_ERR_PATH 160

/* path as a message shows it: itself when shorter than WB_ERR_PATH bytes,
 * else its start, "...", and its end (the file name), copied into buf
 * (WB_ERR_PATH bytes). A message with a 4000-byte path then still fits
 * WB_ERR_MSG with its reason ("File name too long"). */
const char *wb_err_path(char buf[WB_ERR_PATH], const char *path);

/* Short name of a status ("EFORMAT"): the `code` of a wb.Error in Lua, which
 * the executable maps to its exit status; "EUNKNOWN" past the last one. */
const char *wb_status_name(wb_status code);

#endif
