-- A task README and the exports say what made the numbers besides the
-- config (audit I, items 1 and 2): the environment variables and files the
-- hooks read (with the variable's value, the file's content id), and the
-- study script's own repository commit, or that it is in none (with its
-- content id). Before: two READMEs of different $SCALE had the same header,
-- and "commit X" was always the workbench's, never the script's.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

-- A task whose build hook reads $TRACE_SCALE and fac.txt, and whose
-- script requires helper.lua; in folder d.
local function study(d, name)
  util.mkdir_p(d)
  util.write_file(d .. "/fac.txt", "3\n")
  util.write_file(d .. "/helper.lua", "return {k = 1}\n")
  util.write_file(d .. "/" .. name .. ".lua", string.format([[
package.path = %q .. "/?.lua;" .. package.path
local helper = require "helper"
local D = %q
return wb.task{name = %q, title = "t",
  experiment = {base = {epochs = 1, subset = {train = 200, test = 100}},
    seeds = {1},
    build = function(cfg, data)
      local s = tonumber(os.getenv("TRACE_SCALE") or "1") * helper.k
      local f = io.open(D .. "/fac.txt"); local x = f:read("n"); f:close()
      local m = wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
        wb.nn.Dense(8, 10, {activation = "softmax"})}
      return m
    end},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]], d, d, name, name))
  return d .. "/" .. name .. ".lua"
end


local WB = T.wb:sub(1, 1) == "/" and T.wb or os.getenv("PWD") .. "/" .. T.wb:gsub("^%./", "")
local function runwb(path, root, env)
  return T.sh(string.format("cd %s && WB_ECHO=0 %s %s %s --root %s", T.quote(util.dirname(path)),
    env or "", T.quote(WB), T.quote(util.basename(path)), T.quote(root)))
end

T.test("README, runs.json and export_csv name what the hooks read", function()
  local d = dir .. "/env"
  local p, root = study(d, "envtask"), dir .. "/env/plots"
  local st, _, err = runwb(p, root, "TRACE_SCALE=2")
  T.eq(st, 0, err)
  local md = util.read_file(root .. "/envtask/README.md")
  T.ok(md:find("Hooks read: $TRACE_SCALE=2; fac.txt (xxh128 " .. wb.sys.hash_file(d
    .. "/fac.txt"):sub(1, 8) .. ")", 1, true), md)
  local rj = util.read_json(root .. "/envtask/runs.json")
  local vals = {}
  for _, e in ipairs(rj.hooks_read) do vals[e.path] = e.value or e.id end
  T.eq(vals["$TRACE_SCALE"], "2")
  local csv = dir .. "/env.csv"
  wb.runs.export_csv(csv, root .. "/runs")
  local text = util.read_file(csv)
  T.ok(text:find(",hooks_read,", 1, true), text)
  T.ok(text:find(",$TRACE_SCALE=2; " .. d .. "/fac.txt (xxh128 ", 1, true), text)
  -- unset: retrained, and said
  st, _, err = runwb(p, root, "")
  T.eq(st, 0, err)
  T.ok(err:find("(2 then, unset now)", 1, true), err)
  md = util.read_file(root .. "/envtask/README.md")
  T.ok(md:find("Hooks read: $TRACE_SCALE unset;", 1, true), md)
end)

T.test("README names the script's own commit, its edits, or that it is in none", function()
  local d = dir .. "/repo"
  local p, root = study(d, "gittask"), dir .. "/repo/plots"
  local git = "git -C " .. T.quote(d) .. " -c user.email=t@t -c user.name=t "
  T.sh(git .. "init -q && " .. git .. "add gittask.lua helper.lua fac.txt && " .. git
    .. "commit -qm one")
  util.write_file(d .. "/.gitignore", "plots/\n")
  local _, sha = T.sh(git .. "rev-parse --short HEAD")
  sha = sha:match("%x+")
  local st, _, err = runwb(p, root)
  T.eq(st, 0, err)
  local md = util.read_file(root .. "/gittask/README.md")
  T.ok(md:find("Script: gittask.lua at commit " .. sha .. " of " .. d
    .. " (as committed, with helper.lua).", 1, true), md)
  -- the run's record carries it too (wb/train.lua), and so its exports
  local recs = wb.runs.find{task = "gittask", root = root}
  T.eq(#recs, 1)
  T.eq(recs[1].script and recs[1].script.commit, sha, "the record's script commit")
  T.eq(recs[1].script.repo, d)
  -- the helper edited: named, with its content id
  util.write_file(d .. "/helper.lua", "return {k = 1} -- edited\n")
  st, _, err = runwb(p, root)
  T.eq(st, 0, err)
  md = util.read_file(root .. "/gittask/README.md")
  T.ok(md:find("Script: gittask.lua at commit " .. sha .. " of " .. d .. "; not as "
    .. "committed: helper.lua (edited; xxh128 " .. wb.sys.hash_file(d .. "/helper.lua"):sub(1, 8)
    .. ")", 1, true), md .. "\n" .. err)
  -- a script in the git-ignored plots/ folder is in no commit
  local p2 = study(d .. "/plots/mine", "ignored")
  st, _, err = runwb(p2, root)
  T.eq(st, 0, err)
  md = util.read_file(root .. "/ignored/README.md")
  -- its name once, with its content id (tryV 11: "...; ignored.lua (git-ignored; ...)" again)
  T.ok(md:find("Script: ignored.lua (xxh128 " .. wb.sys.hash_file(p2):sub(1, 8) .. "): not in a "
    .. "commit (git-ignored in " .. d .. ")", 1, true), md)
  T.eq(select(2, md:match("Script: ([^\n]*)"):gsub("ignored%.lua", "")), 1, "named once")
  -- and one in no repository at all
  local p3 = study(dir .. "/norepo", "loose")
  st, _, err = runwb(p3, dir .. "/norepo/plots")
  T.eq(st, 0, err)
  md = util.read_file(dir .. "/norepo/plots/loose/README.md")
  T.ok(md:find("Script: loose.lua (xxh128 " .. wb.sys.hash_file(p3):sub(1, 8) .. "): not in a "
    .. "commit (in no git repository); helper.lua (no repository; xxh128 ", 1, true), md)
end)

T.test("export_csv's script column: a record's script, with absolute paths", function()
  local r = {hash = "00000000000000ab", task = "t", variant = "v", seed = 1, status = "ok",
    config = {}, script = {path = "/s/x.lua", repo = "/s", commit = "abc1234", files = {
      {path = "/s/x.lua", state = "committed"},
      {path = "/s/h.lua", state = "edited", id = "1a2b3c4d5e6f"}}}}
  wb.runs.export_csv(dir .. "/s.csv", {r})
  local text = util.read_file(dir .. "/s.csv")
  T.ok(text:find(",script,hooks_read", 1, true), text)
  T.ok(text:find(",/s/x.lua at commit abc1234 of /s; not as committed: /s/h.lua (edited; "
    .. "xxh128 1a2b3c4d),\n", 1, true), text)
end)

T.done()
