-- test_bench_threads.lua: make bench's children run with the threads its
-- output says, whatever the caller's environment. tests/bench.lua kept an
-- exported OMP_NUM_THREADS=2 in its workbench children (l_sys.c keeps a
-- user's thread variables) while every row read "workbench (1 thread)";
-- torch.set_num_threads(1) did not cap PyTorch's OpenBLAS pool either.
-- Runs the training table in a tiny configuration (2,048 rows, batch 128,
-- one round of one timed epoch; PyTorch too: one process per loop).
local T = dofile("tests/lua/harness.lua")

local function has_torch()
  return os.execute("/usr/bin/python3 -c 'import torch' 2>/dev/null") == true
end

-- The training table's rows: {engine, threads, batch}.
local function rows(out)
  local r = {}
  local pat = "\n(%a[%a ]-)%s+(%d+/%d+)%s+(%d+)%s+[%d.]+%s+[%d.]+%.%.[%d.]+ %("
  for name, thr, b in out:gmatch(pat) do
    r[#r + 1] = {name, thr, tonumber(b)}
  end
  return r
end

local TINY = "WB_BENCH_TRAIN_ROWS=2048 WB_BENCH_BATCHES=128 WB_BENCH_EPOCHS=1 WB_BENCH_REPS=1 "

T.test("the caller's OMP/OPENBLAS_NUM_THREADS=2: every child still runs one thread", function()
  if not has_torch() then T.missing("python3-torch") end
  local st, out, err = T.sh("OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 " .. TINY
    .. "timeout 600 " .. T.quote(T.wb) .. " tests/bench.lua --training </dev/null")
  T.eq(st, 0, "bench.lua --training: " .. err .. out)
  local r = rows(out)
  -- workbench, strong and naive on MNIST as is; workbench and strong on dense input
  T.eq(#r, 5, "rows in:\n" .. out)
  for _, x in ipairs(r) do
    T.eq(x[2], "1/1", x[1] .. "'s threads (library/OS) at batch " .. x[3])
  end
  T.ok(out:find("the caller's OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 overridden", 1, true),
    "the header does not say the caller's variables were overridden:\n" .. out)
  T.ok(not out:find("WARNING", 1, true), out)
end)

T.test("WB_BENCH_THREADS=2 asks for two threads: the output says so", function()
  if not has_torch() then T.missing("python3-torch") end
  local st, out, err = T.sh("WB_BENCH_THREADS=2 " .. TINY .. "timeout 600 "
    .. T.quote(T.wb) .. " tests/bench.lua --training </dev/null")
  T.eq(st, 0, "bench.lua --training: " .. err .. out)
  T.ok(out:find("MORE THAN ONE THREAD, ON PURPOSE", 1, true), out)
  local r = rows(out)
  T.eq(#r, 5, "rows in:\n" .. out)
  T.eq(r[1][1], "workbench", out)
  T.eq(r[1][2], "2/2", "workbench's threads (library/OS)")
end)

T.test("WB_BENCH_THREADS: a value that is no thread count is an error naming it", function()
  for _, v in ipairs{"0", "two", "1.5"} do
    local st, _, err = T.sh("WB_BENCH_THREADS=" .. v .. " " .. TINY .. T.quote(T.wb)
      .. " tests/bench.lua --training </dev/null")
    T.ok(st ~= 0, "WB_BENCH_THREADS=" .. v .. " ran")
    T.ok(err:find("WB_BENCH_THREADS: expected an integer 1..64", 1, true), err)
  end
end)

-- bench_instruments.lua's knobs (the README's dense-input figures come from
-- WB_BENCH_INPUT=std WB_BENCH_ONLY=economy): a value it does not know is an
-- error naming it and the expected ones, before any fit (else a misspelt
-- WB_BENCH_INPUT=dense would time MNIST as is under the dense figures' name).
T.test("bench_instruments: an unknown WB_BENCH_INPUT, row or argument is an error", function()
  for _, c in ipairs{{"WB_BENCH_INPUT=dense", "", "WB_BENCH_INPUT: expected raw"},
      {"WB_BENCH_ONLY=economy,fulll", "", "unknown row 'fulll'"},
      {"WB_BENCH_REPS=two", "", "WB_BENCH_REPS: expected an integer"},
      {"", " economy", "unexpected argument 'economy'"}} do
    local st, _, err = T.sh(c[1] .. " timeout 60 " .. T.quote(T.wb)
      .. " tests/bench_instruments.lua" .. c[2] .. " </dev/null")
    T.ok(st ~= 0, c[1] .. c[2] .. " ran")
    T.ok(err:find(c[3], 1, true), c[1] .. c[2] .. ": " .. err)
  end
end)

T.test("bench_hooks: an argument or a bad WB_BENCH_REPS or WB_BENCH_ROWS is an error", function()
  for _, c in ipairs{{"WB_BENCH_REPS=two", "", "WB_BENCH_REPS: expected an integer"},
      {"WB_BENCH_ROWS=0", "", "WB_BENCH_ROWS: expected an integer 1..60000"},
      {"", " 32", "unexpected argument '32'"}} do
    local st, _, err = T.sh(c[1] .. " timeout 60 " .. T.quote(T.wb)
      .. " tests/bench_hooks.lua" .. c[2] .. " </dev/null")
    T.ok(st ~= 0, c[1] .. c[2] .. " ran")
    T.ok(err:find(c[3], 1, true), c[1] .. c[2] .. ": " .. err)
  end
end)

T.test("bench_hooks in a tiny configuration: a row per batch size, two checks a step", function()
  local st, out, err = T.sh("WB_BENCH_ROWS=640 WB_BENCH_REPS=1 timeout 600 " .. T.quote(T.wb)
    .. " tests/bench_hooks.lua </dev/null")
  T.eq(st, 0, "bench_hooks.lua: " .. err .. out)
  for _, b in ipairs{32, 128} do
    local row = "\n" .. b .. " +[%d.]+ +[%d.]+ +[%d.]+x %([%d.]+%.%.[%d.]+%) +%-?[%d.]+ us +2 %("
    T.ok(out:find(row), "batch " .. b .. ": " .. out)
  end
end)

T.done()
