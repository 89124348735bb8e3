-- test_papers_git.lua - git's provenance says the real reason git could not
-- be run, never a false one (audit sigX): under `ulimit -n 12` the check
-- `command -v git >/dev/null 2>&1` failed in sh (no free descriptor for its
-- redirections), and a task said "git not found on PATH", its README
-- "commit unknown (git not available)"; below that the git calls' own shell
-- failed and the commit was "unknown", a script "in no git repository".
-- Now whether git can run is asked without a shell (wb.sys._spawn), and when
-- it cannot run the reason is said: "cannot start git: Permission denied",
-- not "not on PATH"; a git call whose shell fails says so, with the limit.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local q = T.quote

local commit = util.commit_text()
T.ok(commit:match("^%x+"), "this tree is a git checkout: " .. commit)

local function under_limit(n, code)
  return T.sh(string.format("sh -c %s </dev/null", q(string.format("ulimit -n %d && exec %s -e %s",
    n, q(T.wb), q(code)))))
end

T.test("ulimit -n 12: the commit and a script's repository, no false 'not found'", function()
  local st, out, err = under_limit(12, [[
local util, rs = require "wb.util", require "wb.runner_script"
print(util.commit_text())
print(rs.text(rs.info("scripts/task02_custom_digit.lua")))]])
  T.eq(st, 0, err)
  T.ok(not err:find("git", 1, true), "nothing said about git: " .. err)
  local c, s = out:match("^([^\n]*)\n([^\n]*)")
  T.eq(c, commit, "the commit, as at the usual limit")
  T.ok(s and s:find("scripts/task02_custom_digit.lua at commit " .. commit:match("^%x+"), 1,
    true), out)
end)

T.test("ulimit -n 9: git's shell fails, said with the limit, not 'no repository'", function()
  local st, out, err = under_limit(9, [[
local util, rs = require "wb.util", require "wb.runner_script"
print(rs.text(rs.info("scripts/task02_custom_digit.lua")))
print(util.commit_text())]])
  T.eq(st, 0, err)
  local why = "through sh ended with exit 2; this process may hold only 9 files open "
    .. "(ulimit -n 9)"
  local _, said = err:gsub("git could not be run %(`git %-C [^`]*` " .. why:gsub("%p", "%%%0")
    .. "%): runs are recorded without their commit\n", "")
  T.eq(said, 1, "said once: " .. err)
  T.ok(not out:find("no git repository", 1, true), out)
  T.ok(out:find("not in a commit (git not available: `git -C ", 1, true), out)
  T.ok(out:find("\nunknown (git not available: `git -C ", 1, true), out)
  T.ok(select(2, out:gsub(why:gsub("%p", "%%%0"), "")) == 2, out)
end)

T.test("a task under ulimit -n 12: its README names the commit, no 'git not found'", function()
  local task, root = dir .. "/t.lua", dir .. "/root"
  util.write_file(task, [[
return wb.task{name = "gt", title = "git",
  experiment = {base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}},
    seeds = {1}},
  report = function(task, runs) task:text("runs: " .. #runs.records) end}
]])
  local st, _, err = T.sh("sh -c " .. q("ulimit -n 12 && exec " .. q(T.wb) .. " " .. q(task)
    .. " --root " .. q(root)) .. " </dev/null")
  T.ok(st == 0 or st == 1, err) -- the run itself may not start at this limit (test_sigx_runner)
  T.ok(not err:find("git not found", 1, true), err)
  local md = T.slurp(root .. "/gt/README.md")
  T.ok(md:find("commit " .. commit, 1, true), md)
  T.ok(not md:find("git not available", 1, true), md)
end)

T.test("git on PATH but not executable: that reason, not 'not found on PATH'", function()
  local bin = dir .. "/badgit"
  os.execute("mkdir -p " .. q(bin) .. " && cd " .. q(bin) .. " && for f in "
    .. "/usr/bin/* /bin/*; do n=$(basename \"$f\"); [ \"$n\" = git ] || [ -e \"$n\" ] || "
    .. "ln -s \"$f\" \"$n\"; done && printf '#!/bin/sh\\n' > git && chmod 644 git")
  local st, out, err = T.sh("PATH=" .. q(bin) .. " " .. q(T.wb) .. " -e "
    .. q("print(require('wb.util').commit_text())") .. " </dev/null")
  T.eq(st, 0, err)
  T.eq(out, "unknown (git not available: cannot start git: Permission denied)\n")
  T.eq(err, "git could not be run (cannot start git: Permission denied): runs are recorded "
    .. "without their commit\n")
end)

T.done()
