---@meta
-- bindings/lua/meta/sys.lua: the C API of bindings/l_sys.c, the system calls
-- of wb.sys.
-- Hand-written Lua language-server annotations, and the one source of
-- these names' help text: help() reads the `---` blocks as it reads the Lua
-- modules' (format: bindings/lua/wb/help.lua). Never run: bodies are empty.

---wb.sys
---The few operating-system helpers the library needs: time, process and
---host, folders, atomic writes, memory use, OpenBLAS threads (POSIX).
---Functions that act raise with the path and the reason; functions that
---test return a boolean.
---Example: print(wb.sys.hostname(), wb.sys.nproc())
wb.sys = {}

---wb.sys.fail(kind, message)
---Raises message as a wb.Error of a core kind: "EFORMAT" (malformed input),
---"ENOENT" (missing input), "ECREATE" (an output cannot be created), "EIO",
---"ENOMEM", "EINVAL" or any other status name, so that workbench exits with
---that kind's status (65, 66, 73, 74, 71; EINVAL: 1).
---@param kind string
---@param message string
---Example: wb.sys.fail("ENOENT", "data/x.idx: not found: run make data")
function wb.sys.fail(kind, message) end

---wb.sys.isatty(fd) -> boolean
---Whether fd (an integer, 0 = stdin, or an io file such as io.stdout) is a
---terminal.
---@param fd integer|userdata
---@return boolean
---Example: if wb.sys.isatty(io.stdout) then print("terminal") end
function wb.sys.isatty(fd) end

---wb.sys.term_columns(fd) -> integer|nil
---The width in characters of the terminal fd (an integer, 1 = stdout)
---is, as the terminal reports it now (it changes when the window is
---resized); nil when fd is not a terminal or its width is unknown. The
---cockpit fits its frames to it.
---@param fd integer
---@return integer|nil
---Example: print(wb.sys.term_columns(1) or "not a terminal")
function wb.sys.term_columns(fd) end

---wb.sys.time() -> number
---Seconds from an arbitrary start on a monotonic clock, for durations.
---@return number
---Example: local t0 = wb.sys.time(); ...; print(wb.sys.time() - t0)
function wb.sys.time() end

---wb.sys.getpid() -> integer
---The process id.
---@return integer
---Example: print(wb.sys.getpid())
function wb.sys.getpid() end

---wb.sys.hostname() -> string
---The machine's host name (stored in run records).
---@return string
---Example: print(wb.sys.hostname())
function wb.sys.hostname() end

---wb.sys.nproc() -> integer
---The number of processors online (the default of ex:run's jobs).
---@return integer
---Example: print(wb.sys.nproc())
function wb.sys.nproc() end

---wb.sys.peak_rss_kb() -> integer
---The process's peak resident memory in KiB.
---@return integer
---Example: print(wb.sys.peak_rss_kb() / 1024, "MiB")
function wb.sys.peak_rss_kb() end

---wb.sys.kind(path) -> string|nil
---What path is, following links: "file" (a regular file), "folder",
---"fifo", "device", "socket" or "other"; nil when nothing is there. A
---reader of files named like its own uses it to leave out what would
---block (a FIFO) or never end (a link to /dev/zero).
---@param path string
---@return string|nil
---Example: print(wb.sys.kind("data/mnist"))
function wb.sys.kind(path) end

---wb.sys.realpath(path) -> string|nil, string
---The absolute path of path with every symbolic link, "." and ".."
---resolved (realpath(3)); nil and a message naming path when it cannot be
---(nothing there). The runner tells a file of its runs folder so, however
---a hook spelled its path.
---@param path string
---@return string|nil
---@return string|nil
---Example: print(wb.sys.realpath("."))
function wb.sys.realpath(path) end

---wb.sys.exists(path) -> boolean
---Whether path exists (file or folder).
---@param path string
---@return boolean
---Example: print(wb.sys.exists("data/mnist"))
function wb.sys.exists(path) end

---wb.sys.mkdir_p(path) -> boolean
---Creates the folder path and its missing parents (like mkdir -p); true,
---or an error naming the path and the reason.
---@param path string
---@return boolean
---Example: wb.sys.mkdir_p("plots/lab")
function wb.sys.mkdir_p(path) end

---wb.sys.write_atomic(path, s) -> boolean
---Replaces the file path by the string s through a temporary file and a
---rename, so a reader never sees half a file.
---@param path string
---@param s string
---@return boolean
---Example: wb.sys.write_atomic("out.txt", "hello\n")
function wb.sys.write_atomic(path, s) end

---wb.sys.listdir(path) -> table
---The names in folder path, sorted bytewise, without "." and "..".
---@param path string
---@return string[]
---Example: for _, n in ipairs(wb.sys.listdir("plots/runs")) do print(n) end
function wb.sys.listdir(path) end

---wb.sys.hash_file(path) -> string|nil, string
---The XXH3-128 hash of every byte of file path as 32 hex digits, read in
---chunks of 64 KiB (a 50 MB file needs no 50 MB string). nil and a message
---naming the file when it cannot be opened or read (a folder included).
---The data's identity (wb.identity.data) is made of these.
---@param path string
---@return string|nil
---@return string|nil
---Example: print(wb.sys.hash_file("data/mnist/train-labels-idx1-ubyte"))
function wb.sys.hash_file(path) end

---wb.sys.hash_string(s) -> string
---The XXH3-128 hash of the bytes of s as 32 hex digits, as hash_file gives
---for a file holding them. A run record's checksum (wb.record.write) is one.
---@param s string
---@return string
---Example: print(wb.sys.hash_string("abc"))
function wb.sys.hash_string(s) end

---wb.sys.mktemp(kind) -> string
---Creates a new empty temporary file (kind "file", the default) or folder
---("dir") named wb_XXXXXX in $TMPDIR, else /tmp (os.tmpname ignores
---TMPDIR), and returns its path; the caller removes it. Raises ECREATE
---naming the folder and TMPDIR when it cannot.
---@param kind? string
---@return string
---Example: local p = wb.sys.mktemp(); print(p); os.remove(p)
function wb.sys.mktemp(kind) end

---wb.sys.reader_gone(fd) -> boolean|nil, string
---Whether every process reading the pipe whose write end is file
---descriptor fd has closed it (it was killed, say): a runner's child
---watches the runner so. nil and a message when fd is not the write end of
---a pipe.
---@param fd integer
---@return boolean|nil
---@return string|nil
---Example: print(wb.sys.reader_gone(1))
function wb.sys.reader_gone(fd) end

---wb.sys.check_interrupt()
---Raises the "interrupted!" error again when a SIGINT (Ctrl-C) or SIGTERM
---came while this chunk ran under the workbench executable, though a pcall
---caught it the first time; else does nothing. A loop that must stop on a
---signal calls it once per pass (the runner does, between its children's
---lines): any pcall in code it calls could have caught the interrupt. The
---error is the same object, so the exit status is still 130 / 143.
---Example: for _, f in ipairs(files) do pcall(dofile, f); wb.sys.check_interrupt() end
function wb.sys.check_interrupt() end

---wb.sys.sleep(seconds)
---Sleeps seconds (a number in [0, 86400]) in this process, no child: a
---SIGINT or SIGTERM under the workbench executable ends it at once with the
---interrupt's error (os.execute("sleep 1") ran a child, and system()
---ignores Ctrl-C in the caller while it waits).
---@param seconds number
---Example: wb.sys.sleep(0.5)
function wb.sys.sleep(seconds) end

---wb.sys.hold_signals()
---Ignores SIGINT and SIGTERM until the chunk ends (the executable then puts
---the old actions back), and so do children started meanwhile: a cleanup
---after an interrupt (the Slurm wait's scancel) is not cut short by the
---second signal a process group or `timeout` sends.
---Example: if not pcall(wb.sys.check_interrupt) then wb.sys.hold_signals() end
function wb.sys.hold_signals() end

---wb.sys.hold_after_signal(on)
---While on (until hold_after_signal(false) or the chunk ends), the first
---SIGINT or SIGTERM still interrupts, but then holds both signals as
---hold_signals does (at once, in the signal handler) instead of putting the
---default action back, so a second Ctrl-C does not kill this process in the
---middle of its stop. For code whose every wait is interruptible (the
---runner's, over its children); elsewhere a second Ctrl-C is what ends a
---long C call. Turning it off leaves signals already held so.
---@param on boolean
---Example: wb.sys.hold_after_signal(true); wait_for_children(); wb.sys.hold_after_signal(false)
function wb.sys.hold_after_signal(on) end

---wb.sys.blas_threads() -> integer
---The number of threads OpenBLAS uses (1 unless OPENBLAS_NUM_THREADS,
---GOTO_NUM_THREADS or OMP_NUM_THREADS says otherwise).
---@return integer
---Example: print(wb.sys.blas_threads())
function wb.sys.blas_threads() end

---wb.sys.set_blas_threads(n) -> integer
---Sets OpenBLAS's thread count; returns the count now in effect (OpenBLAS
---may cap it).
---@param n integer
---@return integer
---Example: wb.sys.set_blas_threads(2)
function wb.sys.set_blas_threads(n) end

---wb.sys.blas_core() -> string
---The kernel OpenBLAS chose for this CPU (or $OPENBLAS_CORETYPE), e.g.
---"Haswell". Another kernel sums in another order, so the same run gives
---other numbers (in the last bits, then further): every run record names it
---(blas_core).
---@return string
---Example: print(wb.sys.blas_core())
function wb.sys.blas_core() end

---wb.sys.fork_call(f) -> integer, string
---Calls f() in a forked child of this process and waits for it: returns
---the child's exit status (0 when f returned, 1 when it raised, 128 + the
---signal that killed it) and f's string result (or the error, when a
---string). What f changes (globals, upvalues, caches, files it keeps open)
---stays in the child, which ends without running this process's
---finalizers. Output buffered before the fork is flushed first. A SIGINT or
---SIGTERM this process sees while it waits is passed on to the child; on
---Linux the child gets a SIGTERM if this process dies. ex:run() trains
---each run this way (wb/runner_fork.lua).
---@param f function
---@return integer
---@return string
---Example: local status, text = wb.sys.fork_call(function() X = 1; return "done" end); print(status, text, X)
function wb.sys.fork_call(f) end

---wb.sys.lock(path, shared, polls, note) -> wb.sys.Lock | false | nil, string
---Opens (creating) the file at path and takes flock(2)'s exclusive lock on
---it (shared = true: a shared one), trying polls + 1 times 0.1 s apart
---(polls = 0 or nil: once; a SIGINT or SIGTERM stops the wait); then writes
---note into the file in place, saying who holds it. A new file's mode is
---0666 less the umask (a group-shared root's group may lock it too); a file
---this user may only read is locked read-only, its note not written.
---Returns the lock; false when another process holds it; nil and a message
---when path cannot be opened or locked. The lock is this
---process's: the kernel drops it when the process ends, killed or not; the
---file is opened close-on-exec (a program this process starts does not hold
---it), and a child of fork_call never releases it. lock:release() (also on
---collection; safe twice) unlocks and closes. A runner's lock on its root
---(wb/root_lock.lua) is one.
---@param path string
---@param shared? boolean
---@param polls? integer
---@param note? string
---@return wb.sys.Lock|false|nil
---@return string|nil
---Example: local l = assert(wb.sys.lock("/tmp/my.lock", false, 0, "me\n")); l:release()
function wb.sys.lock(path, shared, polls, note) end

---wb.sys.math_random_state() -> string | nil
---Lua's math.random generator's whole state (64 hex digits: Lua 5.4's
---xoshiro256**, which Lua itself gives no way to read), for an exact resume:
---model:save_state stores it beside wb.rng_state(), and a resumed fit's
---hooks draw from math.random where the stopped fit had got to. nil when
---math.random is not Lua 5.4's own (a script replaced it).
---@return string|nil
---Example: local s = wb.sys.math_random_state(); local a = math.random(); wb.sys.set_math_random_state(s); print(a == math.random())
function wb.sys.math_random_state() end

---wb.sys.set_math_random_state(s)
---Restores a state returned by wb.sys.math_random_state: math.random then
---draws the same numbers as after that call.
---@param s string
---Example: wb.sys.set_math_random_state(s)
function wb.sys.set_math_random_state(s) end
