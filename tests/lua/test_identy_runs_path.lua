-- A file of the runs folder is told by what its path names (wb.sys.realpath),
-- not by how a hook spelled it (wb/identity_reads_sys.lua S.skipped). The
-- runs folder is not recorded but for a file a hook reads there (another
-- run's weights, which change when that run retrains: audit W3); a path was
-- classed by its text, so one that left the folder by ".." was taken for
-- the folder's (a hook's wb.image.load("<runs>/../mask.png") was not
-- recorded: editing the mask reused the run), and one that entered it by a
-- link was not (each record wb.runs.find read through the link was recorded).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local reads = require "wb.identity_reads"
local dir = T.tmpdir()
local root = dir .. "/plots"
local runs = root .. "/runs"
T.sh("mkdir -p " .. runs)

-- A script running experiment `name` whose build hook is `build` (source),
-- with `pre` at its top; prints each run's first weight.
local function script(name, top, build)
  local path = dir .. "/" .. name .. ".lua"
  util.write_file(path, string.format([[
%s
local ex = wb.experiment({name = %q, base = {epochs = 1, subset = {train = 300, test = 100},
  validation = false}, seeds = {1}, build = %s,
  measure = function(model) return {w = model:get_weights()[1]:sum()} end}, {root = %q})
for _, r in ipairs(ex:run()) do print("w", r.measures.w) end
]], top, name, build, root))
  return function() return T.sh("WB_ECHO=0 " .. T.wb .. " " .. path) end
end

-- A script's run exited 0; else its error line leads the message. Stderr's first line is
-- the plan ("0 cached, 1 to train"): a run that crashed (a module edited while this ran)
-- read as a cache miss when that line alone was shown.
local function exited_ok(st, err, what)
  if st ~= 0 then
    error(string.format("%s exited %s: %s\n%s", what, tostring(st),
      err:match("workbench: [^\n]*") or "(no 'workbench:' error line)", err), 2)
  end
end

local MLP = [[wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
  wb.nn.Dense(8, 10, {activation = "softmax"})}]]

T.test("a file read by a path that leaves the runs folder by '..' is recorded", function()
  wb.image.save(wb.zeros({2, 2}), dir .. "/mask.png")
  local t = reads.track{dirs = {runs}}
  wb.image.load(runs .. "/../../mask.png")
  local list = t:stop()
  T.eq(#list, 1, util.canonical(list))
  T.eq(list[1] and list[1].path, runs .. "/../../mask.png")
  -- and one that stays in it by '..' is the folder's, as spelled plainly
  util.write_file(runs .. "/x.json", "{}")
  t = reads.track{dirs = {runs}}
  wb.image.load(dir .. "/mask.png")
  util.read_file(runs .. "/../runs/x.json") -- by the library (as wb.runs.find reads records)
  list = t:stop()
  T.eq(#list, 1, util.canonical(list))
  os.remove(runs .. "/x.json")
end)

T.test("where a link points, as a hook resolves it (wb.sys.realpath), is recorded", function()
  T.sh("mkdir -p " .. dir .. "/v1 " .. dir .. "/v2")
  T.sh("ln -sfn " .. dir .. "/v1 " .. dir .. "/current")
  local t = reads.track{}
  local at = wb.sys.realpath(dir .. "/current")
  T.eq(select(2, wb.sys.realpath(dir .. "/none")), dir .. "/none: No such file or directory")
  local list = t:stop()
  T.eq(#list, 2, util.canonical(list))
  T.eq(list[1].value, at)
  T.eq(reads.changed(list), nil, "as recorded")
  T.sh("ln -sfn " .. dir .. "/v2 " .. dir .. "/current")
  local path, what = reads.changed(list)
  T.eq(path, "wb.sys.realpath(" .. dir .. "/current)")
  T.ok(what:find("(" .. at .. " then, " .. wb.sys.realpath(dir .. "/v2") .. " now)", 1, true), what)
end)

T.test("the runs folder through a link is the runs folder: the library's reads there stay out",
  function()
  local ex = wb.experiment({name = "linked", base = {epochs = 1, hidden = 8,
    subset = {train = 200, test = 50}}, seeds = {1}}, {root = root})
  ex:run{verbose = false}
  T.sh("ln -sfn " .. root .. " " .. dir .. "/link")
  local t = reads.track{dirs = {runs}}
  local rs = wb.runs.find{root = dir .. "/link", task = "linked"}
  local list = t:stop()
  T.eq(#rs, 1)
  T.eq(#list, 0, "records read through the link: " .. util.canonical(list))
end)

T.test("another run's weights read by any spelling of their path: retrained with them",
  function()
  util.write_file(dir .. "/params.lua", "return {seed = 1}\n")
  local pre = script("pre", string.format("local d = %q", dir),
    "function() local p = dofile(d .. '/params.lua'); wb.seed(p.seed); return " .. MLP .. " end")
  local st, _, err = pre()
  exited_ok(st, err, "pre")
  local weights
  for _, f in ipairs(wb.sys.listdir(runs)) do
    if f:match("^pre%-.*%.safetensors$") then weights = f end
  end
  T.ok(weights, "pre's weights")
  T.sh("ln -sfn " .. runs .. " " .. dir .. "/runs_link")
  local _, depth = wb.sys.realpath("."):gsub("/[^/]+", "")
  local spellings = {abs = runs, dotdot = runs .. "/../runs", dot = root .. "/./runs",
    link = dir .. "/runs_link", rel = string.rep("../", depth) .. runs:sub(2)}
  local ft, first = {}, {}
  for _, k in ipairs(util.sorted_keys(spellings)) do
    -- the path computed in the hook (a literal one is in the hook's identity)
    ft[k] = script("ft_" .. k, string.format("local at, name = %q, %q", spellings[k], weights),
      "function() local m = " .. MLP .. "; m:load_weights(at .. '/' .. name); return m end")
    local out
    st, out, err = ft[k]()
    exited_ok(st, err, "ft_" .. k .. " (its first run)")
    first[k] = out
    st, _, err = ft[k]()
    exited_ok(st, err, "ft_" .. k .. " (run again)") -- a crash after its plan line passed
    T.ok(err:find("1 cached, 0 to train", 1, true), k .. ": not cached: " .. err)
  end
  util.write_file(dir .. "/params.lua", "return {seed = 2}\n")
  st, _, err = pre() -- retrained: other weights under the same name
  T.ok(err:find("params.lua changed since it was recorded", 1, true), err)
  for _, k in ipairs(util.sorted_keys(spellings)) do
    local out
    st, out, err = ft[k]()
    exited_ok(st, err, "ft_" .. k .. " (after pre retrained)")
    T.ok(err:find(weights .. " changed since it was recorded: retraining", 1, true),
      k .. ": stale: " .. err)
    T.ok(out ~= first[k], k .. ": the same numbers as with the old weights")
  end
end)

T.done()
