-- test_identity_tailcall.lua - a hook whose body ends in a tail call into the
-- library (`return model:load_weights(p)`, `return wb.load(p)`) has the
-- file that call reads in its run's identity, when it is in the runs folder
-- (a fine-tune's donor weights). The tail call left no frame of the hook's,
-- the library's read looked like the runner's, and after the file changed
-- the run was reused with the old weights' numbers (audit identZ, K7).
-- Hooks are now called through a frame the tracker finds.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

-- in the runs folder, as another run's weights are (a fine-tune's donor):
-- there a read counts only when a hook made it; elsewhere every read does
local weights
local function save_weights(seed)
  wb.seed(seed)
  wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
    wb.nn.Dense(8, 10, {activation = "softmax"})}:save(weights)
end

for _, case in ipairs{
  {"build", "build = function(cfg) return wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "
    .. "'relu'}), wb.nn.Dense(8, 10, {activation = 'softmax'})}:load_weights(W) end"},
  {"build via wb.load", "build = function(cfg) return wb.load(W) end"},
} do
  T.test("a " .. case[1] .. " hook tail-calling a loader: the file changed, the run retrains",
    function()
    local root = dir .. "/r_" .. case[1]:gsub("%W", "_")
    local task = dir .. "/tc_" .. case[1]:gsub("%W", "_") .. ".lua"
    weights = root .. "/runs/donor.safetensors"
    wb.sys.mkdir_p(root .. "/runs")
    util.write_file(task, string.format([[
local W = %q
return wb.task{name = "tc", title = "tail call",
  experiment = {base = {%sepochs = 1, subset = {train = 300, test = 100}, validation = false},
    seeds = {1}, %s},
  report = function(task, runs) end}
]], weights, case[3] or "", case[2]))
    save_weights(1)
    local st, _, err = T.run_wb(T.quote(task) .. " --root " .. T.quote(root))
    T.eq(st, 0, err)
    T.ok(err:find("1 run: 0 cached, 1 to train", 1, true), err)
    st, _, err = T.run_wb(T.quote(task) .. " --root " .. T.quote(root))
    T.ok(st == 0 and err:find("1 run: 1 cached, 0 to train", 1, true), err)
    save_weights(2) -- other weights in the same file
    st, _, err = T.run_wb(T.quote(task) .. " --root " .. T.quote(root))
    T.eq(st, 0, err)
    T.ok(err:find("1 run: 0 cached, 1 to train", 1, true), err)
    T.ok(err:find(weights, 1, true), err) -- the why names the file
  end)
end

T.done()
