-- wb/util_git.lua: git, for provenance (wb.util re-exports these): whether
-- it can run and why not, said once; the workbench's commit and its
-- uncommitted files; `git -C dir ...` for a study script's repository
-- (wb/runner_script.lua). Split from wb/util.lua, which it uses (required
-- when called: wb.util loads this file).
local _ENV = require "wb.std"
local wb = require "wb"

local M = {}

-- Why git could not be run in this process (nil: it could), said once on
-- stderr with what it costs the records.
local git_found, git_why
local function cannot(why)
  if git_why then return git_why end
  git_why = why
  io.stderr:write(string.format("git %s: runs are recorded without their commit\n",
    why == "not on PATH" and "not found on PATH" or ("could not be run (" .. why .. ")")))
  return why
end

-- Whether git can be run (said once when it cannot). Run without a shell:
-- `command -v git >/dev/null 2>&1` failed under `ulimit -n 12` (sh found no
-- free descriptor for its redirections), said as "git not found on PATH".
function M.git_found()
  if git_found == nil then
    local ok, how, code = pcall(wb.sys._spawn, {"git", "--version"},
      {stdin = "/dev/null", stdout = "/dev/null", stderr = "/dev/null"})
    if not ok then wb.sys.check_interrupt() end -- a Ctrl-C stays one
    git_found = ok and how == "exit" and code == 0
    if not git_found then
      cannot(not ok and (tostring(how):gsub("^_spawn: ", "")
        :gsub("^cannot start git: No such file or directory$", "not on PATH"))
        or string.format("`git --version` ended with %s %s", how, tostring(code)))
    end
  end
  return git_found
end

-- Why git cannot be run here ("not on PATH", "cannot start git: Permission
-- denied", "`git -C ... rev-parse ...` through sh ended with exit 2; this
-- process may hold only 11 files open (ulimit -n 11)"), nil when it can.
function M.git_why()
  M.git_found()
  return git_why
end

-- The limit on the files this process may hold open, when /proc says it
-- and it is low enough to be why a shell failed (ulimit -n 11), else nil.
function M.low_fd_limit()
  local fh = io.open("/proc/self/limits", "r")
  local n = fh and tonumber((fh:read("a") or ""):match("Max open files%s+(%d+)"))
  if fh then fh:close() end
  return n and n < 64 and n or nil
end

-- git's output (its stdout, whatever its exit status: "" outside a
-- repository) for `git -C dir args...` (args: a list), and why git could
-- not be run (then ""): the workbench's tree here, a study script's
-- (wb/runner_script.lua). Through io.popen, which the run's read tracker
-- knows as the workbench's own (wb/identity_reads.lua); the shell failing
-- (exit 2: under `ulimit -n 11` it finds no descriptor for 2>/dev/null) is
-- said, not taken for "no commit" or "in no git repository". git itself
-- ends with 0, or 128 outside a repository.
function M.git(dir, args)
  if not M.git_found() then return "", git_why end
  local quote = require("wb.util").shell_quote
  local words = {"git", "-C", quote(dir)}
  for _, a in ipairs(args) do words[#words + 1] = quote(a) end
  local cmd = table.concat(words, " ")
  local p, err = io.popen(cmd .. " 2>/dev/null")
  if not p then return "", cannot(string.format("cannot run `%s`: %s", cmd, tostring(err))) end
  local out = p:read("a") or ""
  local _, how, code = p:close()
  if how == "exit" and (code == 0 or code == 128) then return out end
  wb.sys.check_interrupt() -- a Ctrl-C stays one
  local limit = M.low_fd_limit()
  return "", cannot(string.format("`%s` through sh ended with %s %s%s", cmd, how,
    tostring(code), limit and string.format("; this process may hold only %d files open "
    .. "(ulimit -n %d)", limit, limit) or ""))
end

local function tree() return (wb.luadir:gsub("/bindings/lua$", "")) end -- the workbench's

-- Why the tree's commit does not describe this binary (nil when it does): it runs
-- without its source tree (installed), or was built from other C sources than the tree
-- holds (wb/runner_provenance.lua). Its records then name no commit.
local function not_the_binarys()
  local src = require("wb.runner_provenance").core_sources()
  if not src.tree then return "this binary runs without its source tree" end
  return src.differ and "this binary was built from other C sources than " .. src.tree
    .. " holds" or nil
end

local commit_cache
function M.git_commit()
  if commit_cache ~= nil then return commit_cache or nil end
  if not_the_binarys() then commit_cache = false; return nil end
  local c = M.git(tree(), {"rev-parse", "--short", "HEAD"}):match("^[^\n]+")
  commit_cache = c or false
  return c
end

-- The files of the workbench's tree that differ from its commit ({} for a
-- clean tree, nil outside git), as git status names them: tracked files
-- edited and files not in it (a new module under wb/ or scripts/: in the
-- code version, not in the commit; .gitignore'd ones, builds and plots,
-- are not counted). A number made by such code is not the commit's number,
-- and which files they were says whether that matters (an edited module,
-- or a CSV left in the tree). Once per process.
local changes_cache
function M.git_changes()
  if changes_cache ~= nil then return changes_cache or nil end
  if not M.git_commit() then changes_cache = false; return nil end
  local out = M.git(tree(), {"status", "--porcelain", "--untracked-files=all"})
  changes_cache = require("wb.util").array() -- a JSON list, [] when clean
  for line in out:gmatch("[^\n]+") do -- "XY path" or "XY old -> new"
    changes_cache[#changes_cache + 1] = line:sub(4):gsub("^.* %-> ", "")
  end
  return changes_cache
end

-- How many (git_changes), nil outside git.
function M.git_uncommitted()
  local c = M.git_changes()
  return c and #c or nil
end

-- "abc1234", "abc1234 with uncommitted changes to 2 files: a.lua, b.csv"
-- (the first SHOWN named, then how many more) or "unknown": the commit a
-- README or report names.
local SHOWN = 3
function M.commit_text()
  local c, ch = M.git_commit(), M.git_changes() or {}
  if not c then
    local other = not_the_binarys()
    if other then return "unknown (" .. other .. ")" end
    local why = M.git_why()
    return why and string.format("unknown (git not available%s)", why == "not on PATH" and ""
      or (": " .. why)) or "unknown"
  end
  local n = #ch
  if n == 0 then return c end
  local names = {}
  for i = 1, math.min(n, SHOWN) do names[i] = ch[i] end
  return string.format("%s with uncommitted changes to %d file%s: %s%s", c, n,
    n == 1 and "" or "s", table.concat(names, ", "),
    n > SHOWN and string.format(" and %d more", n - SHOWN) or "")
end

return M
