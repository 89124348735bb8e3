-- test_engine_callbacks.lua: the training loop's callbacks (EarlyStopping,
-- ReduceLROnPlateau, CSVLogger, ModelCheckpoint, Lambda) and checkpoints
-- (save / wb.load, load_weights, safetensors read and written by Python);
-- fast: small synthetic data.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn, cb = wb.nn, wb.callbacks

-- {==================== fixtures ====================

local tiny_model = T.linear_mlp

local function max_diff(a, b)
  local d = a - b
  return math.max(math.abs(d:max()), math.abs(d:min()))
end

local data = T.linear_data(120, 20, 3, 7)

-- }====================
-- {==================== callbacks ====================

-- Drive a callback with a scripted monitor sequence; weights are filled with
-- the epoch number so that restored weights show which epoch they are from.
local function script_es(opts, seq, monitor)
  local m = tiny_model(9)
  m.history = wb.fit.new_history()
  local es = cb.EarlyStopping(opts)
  es:on_train_begin(m, {})
  local stopped_at
  for epoch, v in ipairs(seq) do
    m[1].weight:fill(epoch)
    es:on_epoch_end(epoch, {[monitor or "val_loss"] = v})
    if m.stop_training then stopped_at = epoch; break end
  end
  es:on_train_end({})
  return stopped_at, es, m
end

T.test("EarlyStopping: patience, min_delta, mode, baseline (Keras 3)", function()
  local stop, es, m = script_es({patience = 2}, {1.0, 0.8, 0.9, 0.85, 0.7})
  T.eq(stop, 4); T.eq(es.best_epoch, 2); T.eq(m.history.stopped_epoch, 4)
  T.eq(m.history.best_epoch, 2)
  T.eq(m[1].weight:get(1, 1), 4, "no restore without restore_best_weights")
  stop = script_es({patience = 0}, {1.0, 1.0})
  T.eq(stop, 2, "patience 0 stops at the first non-improvement")
  stop = script_es({patience = 0}, {1.0})
  T.eq(stop, nil, "never stops at the first epoch")
  stop = script_es({patience = 1, min_delta = 0.1}, {1.0, 0.95, 0.5})
  T.eq(stop, 2, "0.95 is not better than 1.0 by min_delta")
  stop, es = script_es({patience = 1, monitor = "val_accuracy"}, {0.5, 0.6, 0.55},
    "val_accuracy")
  T.eq(stop, 3); T.eq(es.best_epoch, 2)
  stop = script_es({patience = 1, mode = "max"}, {0.5, 0.6, 0.55})
  T.eq(stop, 3, "mode max")
  -- baseline: improvements that do not beat it keep counting but an
  -- improving epoch never stops (Keras returns before the patience check)
  stop = script_es({patience = 2, baseline = 0.5}, {0.9, 0.8, 0.7, 0.75})
  T.eq(stop, 4)
  stop = script_es({patience = 1, start_from_epoch = 2}, {1.0, 1.0, 1.0, 1.0})
  T.eq(stop, 4, "the first 2 epochs are ignored")
end)

T.test("EarlyStopping restores best weights at train end, stopped or not", function()
  local stop, es, m = script_es({patience = 2, restore_best_weights = true},
    {1.0, 0.5, 0.7, 0.8})
  T.eq(stop, 4); T.eq(es.best_epoch, 2)
  T.eq(m[1].weight:get(3, 5), 2, "weights of epoch 2 restored")
  stop, es, m = script_es({patience = 10, restore_best_weights = true}, {1.0, 0.5, 0.7})
  T.eq(stop, nil)
  T.eq(m[1].weight:get(1, 1), 2, "restored without an early stop (Keras 3)")
  T.eq(m.history.best_epoch, 2)
end)

T.test("EarlyStopping in fit stops the loop and sets history fields", function()
  local m = tiny_model(10)
  -- lr 0: val_loss is constant, so patience 1 stops at epoch 2
  local h = m:fit(data, {epochs = 10, verbose = false, validation = data:subset(1, 20),
    optimizer = wb.optim.SGD{lr = 0},
    callbacks = {cb.EarlyStopping{patience = 1, restore_best_weights = true}}})
  T.eq(h.epochs, 2); T.eq(h.stopped_epoch, 2); T.eq(h.best_epoch, 1)
  T.check_error("unknown option 'patient'", function() cb.EarlyStopping{patient = 1} end)
end)

T.test("ReduceLROnPlateau lowers opt.lr after patience, then cools down", function()
  local m = tiny_model(11)
  m.optimizer = wb.optim.Adam{lr = 1e-3}
  local r = cb.ReduceLROnPlateau{patience = 2, factor = 0.5, cooldown = 1, min_lr = 2e-4}
  r:on_train_begin(m, {})
  local lrs = {}
  for epoch, v in ipairs({1, 1, 1, 1, 1, 1, 1, 1}) do
    r:on_epoch_end(epoch, {val_loss = v})
    lrs[epoch] = m.optimizer.lr
  end
  T.near(lrs[2], 1e-3, 1e-9)
  T.near(lrs[3], 5e-4, 1e-9)
  T.near(lrs[4], 5e-4, 1e-9)  -- cooldown
  T.near(lrs[6], 2.5e-4, 1e-9)
  T.near(lrs[8], 2e-4, 1e-9)  -- clamped at min_lr
  T.check_error("factor must be in", function() cb.ReduceLROnPlateau{factor = 2} end)
  -- in fit: lr 0 -> constant val_loss -> lr reduced; history.lr records it
  local opt = wb.optim.SGD{lr = 0.01}
  local h = m:fit(data:subset(1, 20), {epochs = 3, verbose = false, optimizer = opt,
    validation = data:subset(1, 20),
    callbacks = {cb.ReduceLROnPlateau{patience = 1, min_delta = 10}}})
  T.near(h.lr[1], 0.01, 1e-9)
  T.near(h.lr[2], 0.01, 1e-9)   -- lr used during the epoch; reduced at its end
  T.near(h.lr[3], 0.001, 1e-9)
  T.near(opt.lr, 0.0001, 1e-10)
end)

T.test("CSVLogger writes epoch + sorted keys, appends without a header", function()
  local dir = T.tmpdir()
  local path = dir .. "/log.csv"
  local m = tiny_model(12)
  local function run(append)
    m:fit(data:subset(1, 20), {epochs = 2, verbose = false, validation = data:subset(1, 10),
      callbacks = {cb.CSVLogger(path, {append = append})}})
  end
  run(false)
  local lines = {}
  for l in io.lines(path) do lines[#lines + 1] = l end
  T.eq(lines[1], "epoch,accuracy,data_loss,epoch_time,loss,lr,reg_loss,val_accuracy,val_loss")
  T.eq(#lines, 3)
  T.ok(lines[3]:match("^2,"), lines[3])
  run(true)
  lines = {}
  for l in io.lines(path) do lines[#lines + 1] = l end
  T.eq(#lines, 5)
  T.ok(lines[4]:match("^1,"), lines[4])
  -- audit X7: a fit with other columns (no validation), or another
  -- separator, appended rows under the file's header, misaligned: refused,
  -- and the file keeps what it had
  local before = T.slurp(path)
  T.check_error("CSVLogger: " .. path .. " starts with the header \"epoch,accuracy,data_loss,"
    .. "epoch_time,loss,lr,reg_loss,val_accuracy,val_loss\", but this fit's columns are "
    .. "\"epoch,accuracy,data_loss,epoch_time,loss,lr,reg_loss\"", function()
    m:fit(data:subset(1, 20), {epochs = 1, verbose = false,
      callbacks = {cb.CSVLogger(path, {append = true})}})
  end)
  T.check_error("(separator \";\")", function()
    m:fit(data:subset(1, 20), {epochs = 1, verbose = false, validation = data:subset(1, 10),
      callbacks = {cb.CSVLogger(path, {append = true, separator = ";"})}})
  end)
  T.eq(T.slurp(path), before, "nothing appended")
end)

-- CSVLogger{filename, ...} dropped its other keys unread (seperator = ";"
-- wrote commas), a second argument's options and a second filename
T.test("CSVLogger{filename, ...}: no key, argument or filename dropped unread", function()
  T.check_error("CSVLogger: unknown option 'seperator' (valid: separator, append)",
    cb.CSVLogger, {"x.csv", seperator = ";"})
  T.check_error("CSVLogger: filename given twice (its first element and filename =); give it "
    .. "once", cb.CSVLogger, {"x.csv", filename = "y.csv"})
  T.check_error("bad argument #2 to 'CSVLogger' (nothing expected after an options table: "
    .. "CSVLogger{filename, ...} or CSVLogger(filename, opts), got table)", cb.CSVLogger,
    {"x.csv"}, {append = true})
  local ok, e = pcall(cb.CSVLogger, {"x.csv", "y.csv"})
  T.ok(not ok and wb.spec.is_input_error(e), tostring(e))
  T.ok(tostring(e):find("CSVLogger: unknown option '2'", 1, true), tostring(e))
  local c = cb.CSVLogger{"x.csv", separator = ";", append = true}
  T.eq(c.filename, "x.csv"); T.eq(c.sep, ";"); T.eq(c.append, true)
  c = cb.CSVLogger{filename = "x.csv", append = true}
  T.eq(c.filename, "x.csv"); T.eq(c.append, true)
end)

-- audit X18: a write that failed (a full disk) left the log empty and the
-- fit said nothing; /dev/full fails every flush with ENOSPC
T.test("CSVLogger: a write that fails is an error naming the file (EIO)", function()
  if not wb.sys.exists("/dev/full") then error("/dev/full is missing") end
  local m = tiny_model(12)
  local ok, e = pcall(m.fit, m, data:subset(1, 20), {epochs = 1, verbose = false,
    callbacks = {cb.CSVLogger("/dev/full")}})
  T.ok(not ok, "the fit raised")
  T.ok(tostring(e):find("CSVLogger: /dev/full: ", 1, true), tostring(e))
  T.eq(wb.is_error(e) and e.code, "EIO", tostring(e))
end)

T.test("ModelCheckpoint: formatted paths, save_best_only", function()
  local dir = T.tmpdir()
  local m = tiny_model(13)
  m:fit(data:subset(1, 20), {epochs = 2, verbose = false, validation = data:subset(1, 10),
    callbacks = {cb.ModelCheckpoint{dir .. "/m-{epoch:02d}-{val_loss:.3f}.safetensors"},
                 cb.ModelCheckpoint{filepath = dir .. "/best.safetensors",
                   save_best_only = true, save_weights_only = true}}})
  local st, out = T.sh("ls " .. dir)
  T.eq(st, 0)
  T.ok(out:find("m%-01%-%d%.%d%d%d%.safetensors") and out:find("m%-02%-"), out)
  T.ok(out:find("best.safetensors", 1, true), out)
  local m2 = wb.load(dir .. "/" .. out:match("(m%-02%-[^\n]+)"))
  T.ok(max_diff(m2:predict(data.images), m:predict(data.images)) == 0)
end)

T.test("Lambda calls plain functions", function()
  local seen = {}
  local m = tiny_model(14)
  m:fit(data:subset(1, 10), {epochs = 2, verbose = false,
    callbacks = {cb.Lambda{on_epoch_end = function(epoch, logs) seen[epoch] = logs.loss end}}})
  T.ok(seen[1] and seen[2])
end)

-- }====================
-- {==================== checkpoints ====================

T.test("save / wb.load predicts identical probabilities", function()
  local dir = T.tmpdir()
  local m = tiny_model(15, {l2 = 1e-3, dropout = 0.2})
  m:fit(data, {epochs = 2, verbose = false})
  m:save(dir .. "/m.safetensors")
  local m2 = wb.load(dir .. "/m.safetensors")
  T.eq(tostring(m2), tostring(m))
  T.eq(m2[1].l2, m[1].l2)
  T.eq(max_diff(m2:predict(data), m:predict(data)), 0)
  local m3 = tiny_model(16, {l2 = 1e-3, dropout = 0.2})
  m:save_weights(dir .. "/w.safetensors")
  m3:load_weights(dir .. "/w.safetensors")
  T.eq(max_diff(m3:predict(data), m:predict(data)), 0)
  T.check_error("no 'workbench.architecture' metadata",
    function() wb.load(dir .. "/w.safetensors") end)
end)

T.test("load_weights of another architecture errors, weights unchanged", function()
  local dir = T.tmpdir()
  local m = tiny_model(17)
  m:save(dir .. "/m.safetensors")
  wb.seed(3)
  local other = nn.Sequential{nn.Dense(20, 8, {activation = "relu"}),
                              nn.Dense(8, 3, {activation = "softmax"})}
  local before = other[1].weight:clone()
  local before2 = other[2].weight:clone()
  local err = T.check_error("m.safetensors: tensor 'layers.1.weight': expected shape "
    .. "[20, 8], got [20, 16]", function() other:load_weights(dir .. "/m.safetensors") end)
  T.ok(err)
  T.eq(max_diff(other[1].weight, before), 0)
  T.eq(max_diff(other[2].weight, before2), 0)
  local deeper = nn.Sequential{nn.Dense(20, 16), nn.Dense(16, 3), nn.Dense(3, 3)}
  T.check_error("missing tensor 'layers.3.weight'",
    function() deeper:load_weights(dir .. "/m.safetensors") end)
  local shallow = nn.Sequential{nn.Dense(20, 16)}
  T.check_error("unexpected tensor 'layers.2.bias'",
    function() shallow:load_weights(dir .. "/m.safetensors") end)
  T.check_error("cannot open", function() m:load_weights(dir .. "/nope.safetensors") end)
end)

T.test("a checkpoint reads back in Python (stdlib json + struct)", function()
  local dir = T.tmpdir()
  local m = tiny_model(18)
  m[2].bias:fill(0.25)
  m:save(dir .. "/m.safetensors")
  local py = [[
import json, struct, sys
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]
h = json.loads(f.read(n)); data = f.read()
e = h["layers.1.weight"]; b, end_ = e["data_offsets"]
w = struct.unpack("<%df" % ((end_ - b) // 4), data[b:end_])
arch = json.loads(h["__metadata__"]["workbench.architecture"])
print(e["dtype"], e["shape"][0], e["shape"][1], "%.9g" % w[0], "%.9g" % w[21],
      arch[0]["kind"], arch[1]["n_out"], h["layers.2.bias"]["shape"][0], n % 8)
]]
  local pyf = dir .. "/r.py"
  local f = io.open(pyf, "w"); f:write(py); f:close()
  local code, out, errout = T.sh("python3 " .. pyf .. " " .. dir .. "/m.safetensors")
  T.eq(code, 0, errout)
  local w = m[1].weight
  local expect = string.format("F32 20 16 %.9g %.9g Dense 3 3 0\n", w:get(1, 1), w:get(2, 6))
  T.eq(out, expect)
end)

T.test("a file written by Python (stdlib) loads with load_weights", function()
  local dir = T.tmpdir()
  -- Official layout: tensors sorted by name, __metadata__ last, header
  -- padded with spaces to a multiple of 8, JSON with spaces after ':'.
  local py = [[
import json, struct, sys
shapes = {"layers.1.weight": [20, 16], "layers.1.bias": [16],
          "layers.2.weight": [16, 3], "layers.2.bias": [3]}
hdr, blobs, off = {}, [], 0
for name in sorted(shapes):
    n = 1
    for s in shapes[name]: n *= s
    vals = [(i % 7) * 0.125 - 0.25 for i in range(n)]
    blobs.append(struct.pack("<%df" % n, *vals))
    hdr[name] = {"dtype": "F32", "shape": shapes[name], "data_offsets": [off, off + 4 * n]}
    off += 4 * n
hdr["__metadata__"] = {"format": "pt"}
h = json.dumps(hdr).encode()
h += b" " * (-len(h) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h); f.write(b"".join(blobs))
]]
  local pyf = dir .. "/w.py"
  local f = io.open(pyf, "w"); f:write(py); f:close()
  local code, _, errout = T.sh("python3 " .. pyf .. " " .. dir .. "/py.safetensors")
  T.eq(code, 0, errout)
  local m = tiny_model(19)
  m:load_weights(dir .. "/py.safetensors")
  T.eq(m[1].weight:get(1, 8), (7 % 7) * 0.125 - 0.25)
  T.eq(m[1].weight:get(2, 1), (16 % 7) * 0.125 - 0.25)
  T.eq(m[2].bias:get(3), (2 % 7) * 0.125 - 0.25)
  local tensors, meta, names = wb.io.load_safetensors(dir .. "/py.safetensors")
  T.eq(meta.format, "pt")
  T.eq(#names, 4)
  T.ok(tensors["layers.2.weight"])
end)

-- }====================

T.done()
