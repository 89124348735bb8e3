/* lwb.h - shared helpers for the Lua bindings of the workbench core.
 *
 * Bindings are thin: check arguments (before allocating anything), call one
 * core function, turn a failure into a Lua error, push results. Each binding
 * file exports one opener `lwb_open_<module>(lua_State *L)` that is called by
 * luaopen_wb (bindings/wb.c) with the `wb` table on top of the stack and adds
 * its functions/classes to it (sub-tables such as wb.data, wb.nn are created
 * on demand with lwb_subtable).
 */
#ifndef WB_LWB_H
#define WB_LWB_H

#include <lauxlib.h>
#include <lua.h>
#include <signal.h>

#include "../core/tensor.h"

#define LWB_TENSOR "wb.Tensor"

/* Box stored in a full userdata: owns exactly one tensor header (which owns
 * one storage reference). `t` is NULL once released. */
typedef struct lwb_tensor_box {
    wb_tensor *t;
} lwb_tensor_box;

/* The tensor at idx, or a Lua error "wb.Tensor expected, got X" /
 * "attempt to use a released tensor". */
wb_tensor *lwb_checktensor(lua_State *L, int idx);
/* Like lwb_checktensor but NULL when idx is not a tensor userdata. */
wb_tensor *lwb_totensor(lua_State *L, int idx);
/* Push an empty tensor box (metatable set, t = NULL); fill box->t after the
 * core call succeeds. An error in between leaves a consistent empty box. */
lwb_tensor_box *lwb_newtensorbox(lua_State *L);
/* Push t, taking ownership (t may be NULL: then raises with err). */
void lwb_pushtensor(lua_State *L, wb_tensor *t, wb_err *err);
/* Report a tensor's storage to the Lua GC so big tensors get collected. */
void lwb_gc_hint(lua_State *L, size_t nbytes);

#define LWB_ERROR "wb.Error"

/* Raise err as a wb.Error {code = wb_status_name(err->code), message, path}
 * whose message is the text luaL_argerror(L, pos, err->msg) (pos > 0) or
 * luaL_error(L, "%s", err->msg) would raise. path (may be NULL) is the file
 * involved, when the binding knows it. Never returns. */
int lwb_raise(lua_State *L, int pos, const wb_err *err);
int lwb_raise_path(lua_State *L, int pos, const wb_err *err, const char *path);
/* A constructor's arguments past max that are not nil are an error at the
 * first of them ("unexpected argument: <usage>"): Keras-style extras such as
 * Dropout(0.5, {seed = 1}) were otherwise ignored without a word. */
void lwb_no_extra(lua_State *L, int max, const char *usage);
/* The path at arg: a string without a NUL byte in it (C would read the part
 * before it, another file: "x.idx\0junk" loaded x.idx), and not empty unless
 * empty_ok (": cannot open" named nothing). */
const char *lwb_checkpath(lua_State *L, int arg, int empty_ok);
/* Push a wb.Error {code, message, path (may be NULL)} without raising it. */
void lwb_pusherror(lua_State *L, const char *code, const char *message, const char *path);
/* Whether the value at idx is a wb.Error. */
int lwb_is_error(lua_State *L, int idx);
/* Raise luaL_argerror's text for argument arg ("bad argument #3 to 'Dense'
 * (msg)", at the caller's line; fname is the name when the call gives none,
 * as for a function pcall calls; not for a method) as an input error: the object
 * wb.spec.input_error makes, which workbench prints alone, without a
 * traceback (a mistake in the call, not a failure). Made by the function
 * wb/args.lua leaves in the registry; before it is there, luaL_argerror. */
int lwb_input_argerror(lua_State *L, int arg, const char *fname, const char *msg);
/* Raise the formatted text (lua_pushfstring's formats), at the caller's
 * line, as such an input error: a mistake in the call that is not one
 * argument's (an index out of range, a shape that does not fit, an operand
 * of the wrong type). Before wb/args.lua is loaded, luaL_error's string. */
int lwb_input_error(lua_State *L, const char *fmt, ...);
/* The same for msg, with code its .code as a core failure's ("ESHAPE": a
 * pcall that tests e.code still reads it; the exit status stays 1). */
int lwb_input_code(lua_State *L, const char *code, const char *msg);

/* lauxlib's argument checks (luaL_checkinteger, luaL_argcheck, ...) with
 * the same tests and words, each failure raised by lwb_argerror: the text
 * luaL_argerror(L, arg, extramsg) gives, at the caller's line, as an input
 * error (as lwb_input_argerror, the name found as luaL_argerror finds it),
 * which workbench prints alone; before wb/args.lua is loaded, luaL_argerror.
 * The bindings use these, never luaL_check*: a bad argument to a library
 * function is a mistake in the call, not a failure to trace. */
int lwb_argerror(lua_State *L, int arg, const char *extramsg);
int lwb_typeerror(lua_State *L, int arg, const char *tname);
lua_Integer lwb_checkinteger(lua_State *L, int arg);
lua_Number lwb_checknumber(lua_State *L, int arg);
const char *lwb_checklstring(lua_State *L, int arg, size_t *len);
void lwb_checktype(lua_State *L, int arg, int t);
void lwb_checkany(lua_State *L, int arg);
void *lwb_checkudata(lua_State *L, int arg, const char *tname);
int lwb_checkoption(lua_State *L, int arg, const char *def, const char *const lst[]);
lua_Integer lwb_optinteger(lua_State *L, int arg, lua_Integer def);
lua_Number lwb_optnumber(lua_State *L, int arg, lua_Number def);
const char *lwb_optlstring(lua_State *L, int arg, const char *def, size_t *len);
#define lwb_checkstring(L, arg) lwb_checklstring(L, (arg), NULL)
#define lwb_optstring(L, arg, def) lwb_optlstring(L, (arg), (def), NULL)
#define lwb_argcheck(L, cond, arg, extramsg) \
    ((void)((cond) || lwb_argerror(L, (arg), (extramsg))))
#define lwb_argexpected(L, cond, arg, tname) \
    ((void)((cond) || lwb_typeerror(L, (arg), (tname))))

/* Get or create wb[name] as a table (the wb table is at index wbidx);
 * leaves it on top of the stack. */
void lwb_subtable(lua_State *L, int wbidx, const char *name);

/* Read a shape from arguments first..top (integers) or from a table at
 * `first`; fills shape/ndim. Raises on a bad value. */
int lwb_checkshape(lua_State *L, int first, int64_t *shape);
/* Refuses arguments past the max (self included) a function takes: Lua
 * drops extra arguments without a word, and t:sum(1, 2) summed over
 * dimension 1 only. usage says what is taken ("t:sum([dim])"). */
void lwb_checknargs(lua_State *L, int max, const char *usage);

/* The same for reshape and view: one size may be -1 (inferred by core). */
int lwb_checkviewshape(lua_State *L, int first, int64_t *shape);

/* Decode s[0..len), exactly 2 * n lowercase hex digits, into out[0..n) (two
 * digits a byte, the first one high), for the saved generator states
 * (wb.set_rng_state, wb.sys.set_math_random_state). Returns 1, or 0 when len
 * is not 2 * n or a character is not [0-9a-f]: out is then partly written.
 * Never raises: the caller words the error. */
int lwb_hex_decode(const char *s, size_t len, unsigned char *out, size_t n);

/* The files the bindings open by a user's path, for the runner's record of
 * what a run read (bindings/lua/wb/identity_reads.lua): the C loaders do not
 * go through io.open. While an observer is set (lwb_observe), every binding
 * that opens a path for reading calls lwb_note_file(L, path, "r") first,
 * and one that writes a file (a checkpoint, a PNG) lwb_note_file(L, path,
 * "w"): after its arguments are checked, before it touches the file or owns
 * any C memory, since the observer is Lua and may raise. Without an
 * observer it is one registry lookup. path must stay anchored on the stack. */
void lwb_note_file(lua_State *L, const char *path, const char *mode);
/* lua_CFunction observe(f|nil) -> previous observer|nil: sets the observer,
 * a function(path, mode) called by lwb_note_file (wb.io._observe). */
int lwb_observe(lua_State *L);

/* The __index of a C type (userdata at 1, key at 2) after a miss: pushes nil
 * and returns 1 when key is a field the metatable's __fields lists (one this
 * object lacks), else raises "<tname> has no field '<key>'; did you mean ...?"
 * (wb.spec_keys.no_field), the names being the metatable's __methods and
 * __fields and the keys of the table at index extra (0: none). Only on a miss:
 * a valid lookup never comes here. */
int lwb_no_field(lua_State *L, const char *tname, int extra);

/* Openers, one per binding file; lwb_open_error (wb.Error, wb.is_error)
 * runs first, so every later raise finds the wb.Error metatable. */
int lwb_open_error(lua_State *L);
int lwb_open_tensor(lua_State *L);
int lwb_open_data(lua_State *L);
int lwb_open_nn(lua_State *L);
int lwb_open_optim(lua_State *L);
int lwb_open_image(lua_State *L);
int lwb_open_io(lua_State *L);
int lwb_open_sys(lua_State *L);
int lwb_open_hessian(lua_State *L);

/* SIGINT / SIGTERM as a Lua error a pcall cannot lose (interrupt.c). The
 * executable arms it around each chunk (old keeps the previous actions for
 * disarm); lwb_interrupt_status is 128 + the signal when one came while
 * armed (whatever error ends the chunk: the interrupt's, or one raised by
 * code that caught it), else 0; lwb_check_interrupt is
 * wb.sys.check_interrupt. lwb_set_action: sigaction without SA_RESTART. */
void lwb_set_action(int sig, void (*handler)(int), struct sigaction *old);
void lwb_interrupt_arm(lua_State *L, struct sigaction old[2]);
void lwb_interrupt_disarm(lua_State *L, const struct sigaction old[2]);
int lwb_interrupt_status(void);
int lwb_check_interrupt(lua_State *L);
/* wb.sys.sleep, hold_signals and hold_after_signal (interrupt.c). */
int lwb_sleep(lua_State *L);
int lwb_hold_signals(lua_State *L);
int lwb_hold_after_signal(lua_State *L);
/* wb.sys._spawn: a child run and waited for, a signal kept (spawn.c). */
int lwb_spawn(lua_State *L);

/* Once per process: one OpenBLAS thread unless OPENBLAS_NUM_THREADS,
 * GOTO_NUM_THREADS or OMP_NUM_THREADS is set (l_sys.c). */
void lwb_sys_blas_init(void);

#endif
