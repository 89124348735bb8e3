-- test_audit_interop.lua: the files the workbench writes for others, opened
-- as a Python user opens them. README's "Opening the files from Python"
-- snippet runs as printed (against a real --quick run: its weights in a
-- float64 PyTorch model give model:predict's outputs and the recorded test
-- accuracy exactly; the export it reads with pandas equals the record), and
-- CSVLogger's numbers read back as the history's doubles (it printed 10
-- digits). Checkpoints both ways are test_audit_ckpt_python.lua's.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local util = require "wb.util"

local slurp = T.slurp

local csv_rows = T.csv_rows

T.test("CSVLogger: every number reads back as the history's double (Python's float, "
    .. "pandas round_trip)", function()
  local dir = T.tmpdir()
  wb.seed(4)
  local m = T.tiny_mlp(4)
  local path = dir .. "/log.csv"
  -- 30 validation rows and 90 training rows: accuracies k/30, k/90 need 16-17 digits
  m:fit(T.synthetic(4, 120, 8), {epochs = 3, batch_size = 16, validation_split = 0.25,
    verbose = false, callbacks = {wb.callbacks.CSVLogger(path)}})
  local rows = csv_rows(path)
  local head = rows[1]
  T.eq(head[1], "epoch")
  T.eq(#rows, 4, "a header and 3 epochs")
  local checked, long = 0, 0
  for e = 1, 3 do
    T.eq(rows[e + 1][1], tostring(e), "epochs count from 1")
    for c = 2, #head do
      local want = m.history[head[c]][e]
      local text = rows[e + 1][c]
      T.eq(tonumber(text), want, string.format("%s at epoch %d: %q", head[c], e, text))
      checked = checked + 1
      if #text > 12 then long = long + 1 end
    end
  end
  T.ok(checked >= 15 and long >= 3, "too few values with many digits to tell: " .. long)
  local py = T.python_with("pandas")
  if not py then T.missing("python3-pandas") end
  local want = {}
  for c = 2, #head do
    local v = {}
    for e = 1, 3 do v[e] = string.format("%.17g", m.history[head[c]][e]) end
    want[#want + 1] = head[c] .. " " .. table.concat(v, " ")
  end
  util.write_file(dir .. "/want.txt", table.concat(want, "\n") .. "\n")
  util.write_file(dir .. "/p.py", [=[
import sys, pandas
d = sys.argv[1]
h = pandas.read_csv(d + "/log.csv", float_precision="round_trip")
assert list(h.epoch) == [1, 2, 3], list(h.epoch)
for line in open(d + "/want.txt"):
    k, *v = line.split()
    assert list(h[k]) == [float(x) for x in v], (k, list(h[k]), v)
print("ok")
]=])
  local st, out, err = T.sh(py .. " " .. dir .. "/p.py " .. dir)
  T.eq(st, 0, err)
  T.eq(out, "ok\n")
end)

T.test("util.encode_json (run records): every double reads back; cjson's shapes otherwise",
    function()
  local cjson = require "cjson"
  local v = {loss = 0.52696578615912759, acc = 5123 / 6000, lr = 0.1, n = 3, e = {},
    l = {1, cjson.null, 2.5}, m = {x = 1, [2] = "a/b"}}
  local s = util.encode_json(v)
  T.eq(s, '{"acc":0.85383333333333333,"e":{},"l":[1,null,2.5],"loss":0.52696578615912759,'
    .. '"lr":0.1,"m":{"2":"a\\/b","x":1},"n":3}')
  local back = cjson.decode(s)
  T.eq(back.loss, v.loss); T.eq(back.acc, v.acc)
  T.check_error("must not be NaN or Inf", util.encode_json, {0 / 0})
  T.check_error("excessively sparse", util.encode_json, {[1] = 1, [30] = 2})
  -- lenient, for training states (one encoder: checkpoint.lua had its own):
  -- a diverged loss is null, an empty series [], a function is not data
  T.eq(util.encode_json({loss = {0.5, 0 / 0, math.huge}, e = {}, f = print,
    l = {1, print}, acc = v.acc}, {lenient = true}),
    '{"acc":0.85383333333333333,"e":[],"l":[1,null],"loss":[0.5,null,null]}')
  T.eq(require("wb.checkpoint").exact_json({e = {}, x = 0 / 0}), '{"e":[],"x":null}')
end)

-- {==== README's snippet against a real run ====

local README = slurp("README.md")
local section = README:match("\n### Opening the files from Python\n(.-)\n##")

T.test("README: 'Opening the files from Python' has one python snippet", function()
  T.ok(section, "README has no section '### Opening the files from Python'")
  local _, n = section:gsub("```python\n", "")
  T.eq(n, 1, "python snippets in the section")
end)

local base = T.tmpdir()
local trained, st, err = false, nil, nil
if pcall(wb.data.mnist) then
  st, _, err = T.sh(string.format("WB_ECHO=0 %s scripts/task05_dropout.lua --quick --seeds 1 "
    .. "--root %s", T.quote(T.wb), T.quote(base)))
  trained = st == 0
end

-- Runs README's snippet on run (a path without .json or .safetensors) with
-- its history export at dir/history.csv and its output at
-- dir/halved.safetensors, then the test's checks: its outputs on the first
-- 100 test rows are model:predict's (pred) to 1e-5, its accuracy is the
-- record's, and the export is the record's history. Returns Python's stdout.
local function run_snippet(run, dir, pred, n, x100)
  local py = T.python_with("torch")
  if not py then T.missing("python3-torch") end
  if not T.python_with("pandas") then T.missing("python3-pandas") end
  local code = T.ok(section and section:match("```python\n(.-)```"), "no snippet")
  local n1, n2, n3
  code, n1 = code:gsub('\nrun = [^\n]*', '\nrun = ' .. string.format("%q", run))
  code, n2 = code:gsub('read_csv%("plots/history%.csv"', 'read_csv(' .. string.format("%q",
    dir .. "/history.csv"))
  code, n3 = code:gsub('save_safetensors%("plots/halved%.safetensors"', 'save_safetensors(' ..
    string.format("%q", dir .. "/halved.safetensors"))
  T.eq(n1 + n2 + n3, 3, "the snippet sets run = ..., reads \"plots/history.csv\" and "
    .. "writes \"plots/halved.safetensors\"")
  local lines = {}
  for i = 1, 100 do
    local row = {}
    for c = 1, 10 do row[c] = string.format("%.9g", pred:get(i, c)) end
    lines[i] = table.concat(row, " ")
  end
  util.write_file(dir .. "/pred.txt", table.concat(lines, "\n") .. "\n")
  -- the workbench's floats of those rows' pixels, exactly (hex)
  local flat, xs = x100:reshape{100, 784}, {}
  for i = 1, 100 do
    for j = 1, 784 do xs[#xs + 1] = string.format("%a", flat:get(i, j)) end
  end
  util.write_file(dir .. "/x.txt", table.concat(xs, " ") .. "\n")
  -- the snippet's read_csv options, kept to read an export whose ids are digits
  local spy = "import pandas as _pd\n_orig, _kw = _pd.read_csv, {}\n"
    .. "def _spy(path, **kw):\n    _kw.update(kw)\n    return _orig(path, **kw)\n"
    .. "_pd.read_csv = _spy\n"
  util.write_file(dir .. "/p.py", spy .. code .. string.format([=[

# the test's checks, on the snippet's variables
want = np.loadtxt(%q)
assert want.shape == (100, 10) and p.shape[1] == 10, (want.shape, p.shape)
assert np.abs(p[:100] - want).max() < 1e-5, np.abs(p[:100] - want).max()
# the snippet's pixels are the workbench's, to the bit (x / 255, as numpy divides)
wx = np.array([float.fromhex(t) for t in open(%q).read().split()], np.float32)
assert x.dtype == np.float32 and (x[:100].reshape(-1) == wx).all(), \
    int((x[:100].reshape(-1) != wx).sum())
assert n == %d and len(y) == n, (n, len(y))
assert (p.argmax(1) == y).mean() == record["metrics"]["test_accuracy"]
k = 0
for m in ("loss", "val_loss", "accuracy", "val_accuracy"):
    if "history" not in record: break
    rows = h[(h.metric == m) & (h.hash == record["hash"])].sort_values("epoch")
    assert list(rows.epoch) == list(range(1, record["config"]["epochs"] + 1)), list(rows.epoch)
    assert list(rows.value) == record["history"][m], (m, list(rows.value), record["history"][m])
    k += len(rows)
# a run whose hash is digits alone, a commit like 12345e78: read as text by the snippet's
# options, not as the numbers 1234567890123456 and inf (pandas' guess)
d = open(%q).read().split("\n")
cols = d[0].split(",")
if "git_commit" in cols:  # an export's (the hand-made one has no rows)
    row = d[1].split(",")
    row[cols.index("hash")], row[cols.index("git_commit")] = "0234567890123456", "12345e78"
    open(%q, "w").write(d[0] + "\n" + ",".join(row) + "\n")
    h2 = _orig(%q, **_kw)
    assert h2.hash[0] == "0234567890123456" and h2.git_commit[0] == "12345e78", \
        (h2.hash[0], h2.git_commit[0])
print("ok", k)
]=], dir .. "/pred.txt", dir .. "/x.txt", n, dir .. "/history.csv", dir .. "/digits.csv",
    dir .. "/digits.csv"))
  local st2, out, err2 = T.sh(py .. " " .. T.quote(dir .. "/p.py"))
  T.eq(st2, 0, err2)
  return out
end

-- wb.load of the snippet's dir/halved.safetensors gives m's weights / 2 exactly.
local function check_halved(dir, m)
  local back = wb.load(dir .. "/halved.safetensors")
  local want = m:get_weights()
  T.eq(#back:get_weights(), #want)
  for i, t in ipairs(back:get_weights()) do
    T.eq((t - want[i] / 2):abs():max(), 0, "weight " .. i)
  end
  T.eq(tostring(back), tostring(m))
  -- audit W14: other weights must not claim the run's provenance (they kept
  -- workbench.task, hash, seed...: traced to a run whose weights they are not)
  local _, meta = wb.io.load_safetensors(dir .. "/halved.safetensors")
  for _, k in ipairs{"workbench.hash", "workbench.task", "workbench.seed", "workbench.checksum"} do
    T.eq(meta[k], nil, "the halved file's " .. k)
  end
end

if not trained then
  T.test("task 5 --quick trains into a temporary root (for README's snippet)", function()
    T.ok(pcall(wb.data.mnist), "MNIST missing (make data)")
    T.eq(st, 0, err)
  end)
else
  T.test("README's Python snippet: the weights in float64 PyTorch give predict's outputs and "
      .. "the recorded test accuracy; the pandas export equals the record; Python's file loads",
      function()
    local rs = wb.runs.find{root = base .. "/quick", task = "task05_dropout", dropout = 0.3}
    T.eq(#rs, 1)
    local r = rs[1]
    local dir = T.tmpdir()
    local run = base .. "/quick/runs/task05_dropout-" .. r.hash
    T.ok(wb.sys.exists(run .. ".json") and wb.sys.exists(run .. ".safetensors"), run)
    wb.runs.export_history(dir .. "/history.csv", rs)
    local m = r:model()
    local test = r:data().test
    local e = m:evaluate(test)
    T.eq(e.accuracy, r.metrics.test_accuracy, "the workbench's own")
    -- the record holds the double, not 14 digits of it (lua-cjson's most)
    T.eq(string.format("%.17g", r.metrics.test_loss), string.format("%.17g", e.loss),
      "test_loss in the record")
    T.eq(slurp(run .. ".json"):match('"test_loss":([^,}]*)'), util.number_text(e.loss))
    local out = run_snippet(run, dir, m:predict(test:subset(1, 100)), #test,
      test:subset(1, 100):float_images())
    T.ok(out:find("\nok 8\n$"), out)
    check_halved(dir, m)
  end)

  T.test("README's Python snippet: Flatten, Activation, Dropout, linear and gelu Dense layers",
      function()
    local nn, dir = wb.nn, T.tmpdir()
    wb.seed(7)
    local m = nn.Sequential{nn.Flatten(), nn.Dense(784, 32), nn.Activation("tanh"),
      nn.Dropout(0.2), nn.Dense(32, 16, {activation = "gelu", bias = false}),
      nn.Dense(16, 10, {activation = "softmax"})}
    local d = wb.data.mnist()
    local test = d.test:subset(1, 500)
    m:fit(d.train:subset(1, 2000), {epochs = 1, verbose = false})
    m:save(dir .. "/hand.safetensors")
    util.write_json(dir .. "/hand.json", {config = {subset = {test = 500}},
      metrics = {test_accuracy = m:evaluate(test).accuracy}})
    util.write_file(dir .. "/history.csv", "hash,metric,epoch,value\n")
    local out = run_snippet(dir .. "/hand", dir, m:predict(test:subset(1, 100)), 500,
      test:subset(1, 100):float_images())
    T.ok(out:find("\nok 0\n$"), out)
    check_halved(dir, m)
  end)
end

-- }====

T.done()
