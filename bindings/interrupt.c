/* interrupt.c - SIGINT and SIGTERM as a Lua error that a pcall cannot lose.
 *
 * As in Lua's lua.c, a C signal handler cannot touch a Lua state safely: it
 * only sets a hook, and the hook raises "interrupted!" at the next Lua
 * instruction (the executable, bindings/workbench.c, arms this around each
 * chunk). In lua.c the signal is gone once that error is raised, so a pcall
 * that happened to be running catches it as any other error and the
 * program goes on: the runner, stopped while it read a finished run's record
 * through a pcall'd JSON decode, trained every remaining run. Here the
 * signal stays seen until the chunk ends, and wb.sys.check_interrupt()
 * raises the same error object again: a loop that must stop on a signal
 * (the runner's, over its children) calls it once per pass. Whatever error
 * then ends the chunk, the exit status is 130 / 143 (never read from text).
 */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "lwb.h"

static lua_State *armed_L;            /* the state the hook goes on; NULL: not armed */
static volatile sig_atomic_t seen;    /* the signal seen while armed; 0: none */
static int error_key;                 /* registry[&error_key]: the hook's error */
static volatile sig_atomic_t hold_after; /* 1: the first signal holds the next (below) */

void lwb_set_action(int sig, void (*handler)(int), struct sigaction *old)
{
    struct sigaction sa;
    sa.sa_handler = handler;
    sa.sa_flags = 0; /* no SA_RESTART: a blocked read/select sees EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, old);
}

/* Pushes the interrupt's error, making it the first time (with the position
 * of the Lua code that was running, as lua.c's message has). */
static void push_error(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &error_key) != LUA_TNIL)
        return;
    lua_pop(L, 1);
    luaL_where(L, 1);
    lua_pushliteral(L, "interrupted!");
    lua_concat(L, 2);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &error_key);
}

/* The hook laction sets: raise the interrupt, once. */
static void hook_stop(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    push_error(L);
    lua_error(L);
}

/* The default action comes back, so a second Ctrl-C ends the process (one
 * long C call never reaches the hook); under hold_after_signal(true), both
 * signals are held instead, as hold_signals does, here where no Lua code
 * can run first. */
static void laction(int sig)
{
    seen = sig;
    if (hold_after) {
        lwb_set_action(SIGINT, SIG_IGN, NULL);
        lwb_set_action(SIGTERM, SIG_IGN, NULL);
    } else {
        lwb_set_action(sig, SIG_DFL, NULL);
    }
    lua_sethook(armed_L, hook_stop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT, 1);
}

void lwb_interrupt_arm(lua_State *L, struct sigaction old[2])
{
    armed_L = L;
    seen = 0;
    hold_after = 0;
    lua_pushnil(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &error_key);
    lwb_set_action(SIGINT, laction, &old[0]);
    lwb_set_action(SIGTERM, laction, &old[1]);
}

void lwb_interrupt_disarm(lua_State *L, const struct sigaction old[2])
{
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
    /* a signal that came as the chunk ended must not stop the next one */
    if (lua_gethook(L) == hook_stop)
        lua_sethook(L, NULL, 0, 0);
    armed_L = NULL;
    hold_after = 0;
}

/* Any error that ends a chunk in which a signal came means the signal: code
 * that catches the interrupt and raises its own error (a wrapper adding
 * context, a cleanup that fails) must not turn a Ctrl-C into status 1. */
int lwb_interrupt_status(void)
{
    return seen ? 128 + seen : 0;
}

/* check_interrupt() -> nothing; raises the interrupt's error again when a
 * SIGINT or SIGTERM came in this chunk (under the workbench executable). */
int lwb_check_interrupt(lua_State *L)
{
    if (!seen || armed_L == NULL)
        return 0;
    /* raised here: the hook laction set must not raise it a second time
     * at the next instruction, outside the pcall that catches this one (a
     * signal during wb.sys.sleep reaches here before the hook runs) */
    if (lua_gethook(L) == hook_stop)
        lua_sethook(L, NULL, 0, 0);
    push_error(L);
    return lua_error(L);
}

/* sleep(seconds): nanosleep without a child process. os.execute("sleep N")
 * runs system(), which ignores SIGINT in this process while it waits: a
 * Ctrl-C to the Slurm wait was lost with the sleep child, every time.
 * Here a signal ends the sleep and raises the interrupt at once. */
int lwb_sleep(lua_State *L)
{
    lua_Number sec = lwb_checknumber(L, 1);
    lwb_argcheck(L, sec >= 0 && sec <= 86400, 1, "expected seconds in [0, 86400]");
    struct timespec ts = {(time_t)sec, (long)((sec - (lua_Number)(time_t)sec) * 1e9)}, rem;
    while (nanosleep(&ts, &rem) != 0 && errno == EINTR) {
        if (lwb_interrupt_status())
            return lwb_check_interrupt(L);
        ts = rem;
    }
    return 0;
}

/* hold_signals(): SIGINT and SIGTERM ignored until the chunk ends (disarm
 * puts the old actions back), children started meanwhile ignoring them
 * too: the cleanup after an interrupt (cancelling Slurm arrays) is not cut
 * short by the second signal that `timeout` or a Ctrl-C to the process
 * group sends, which the default action (laction's) took as a kill. */
int lwb_hold_signals(lua_State *L)
{
    (void)L;
    lwb_set_action(SIGINT, SIG_IGN, NULL);
    lwb_set_action(SIGTERM, SIG_IGN, NULL);
    return 0;
}

/* hold_after_signal(on): while on (until off or the chunk ends), the first
 * SIGINT or SIGTERM still interrupts, but then holds both signals instead of
 * putting the default action back: for code whose every wait is
 * interruptible (the runner over its children), whose stop a second Ctrl-C
 * 0.01 s later killed before it said what was done. Off leaves signals
 * already held so. */
int lwb_hold_after_signal(lua_State *L)
{
    lwb_checktype(L, 1, LUA_TBOOLEAN);
    hold_after = lua_toboolean(L, 1);
    return 0;
}
