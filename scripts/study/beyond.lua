-- scripts/study/beyond.lua (`local B = require "study.beyond"`): the row an
-- experiment beyond the study gives the report's "Beyond the study" table.
-- The contract between a beyond task and scripts/report.lua: the task's
-- report step writes <its folder>/beyond.json =
--   {experiment = "...", ours = "...", published = "...", source = "...",
--    verdict = "agree" | "differ" | "partly" | "undecided", quick = true | nil}
-- (ours: our deciding number; published: the number it is held against;
-- source: where that number is published; undecided: too few seeds to
-- decide; quick: written by a --quick smoke run, whose verdict is no
-- result: B.write sets it), and the report reads it; a
-- missing or malformed file is an error naming it.
local util = require "wb.util"

local M = {}

M.KEYS = {"experiment", "ours", "published", "source", "verdict"}
M.VERDICTS = {agree = true, differ = true, partly = true, undecided = true}

-- Why row t breaks the contract, or nil when it keeps it.
local function problem(t)
  if type(t) ~= "table" then return "expected an object, got " .. type(t) end
  local known = {}
  for _, k in ipairs(M.KEYS) do
    known[k] = true
    if type(t[k]) ~= "string" or t[k] == "" then
      return string.format("'%s' must be a non-empty string, got %s", k, tostring(t[k]))
    end
  end
  if t.quick ~= nil and t.quick ~= true then
    return "'quick' must be true or absent, got " .. tostring(t.quick)
  end
  for k in pairs(t) do
    if not known[k] and k ~= "quick" then
      return string.format("unknown key '%s' (expected %s)", tostring(k),
        table.concat(M.KEYS, ", "))
    end
  end
  if not M.VERDICTS[t.verdict] then
    return string.format("'verdict' must be agree, differ, partly or undecided, got '%s'",
      t.verdict)
  end
  return nil
end

---B.write(task, row)
---Checks row against the contract and writes it as the task's beyond.json
---(task:path("beyond.json")); a row that breaks it raises, naming why.
---Example: B.write(task, {experiment = "x", ours = "1", published = "1", source = "s", verdict = "agree"})
function M.write(task, row)
  local why = problem(row)
  if why then error(task.name .. ": beyond.json: " .. why, 2) end
  -- a --quick run's verdict (2 epochs on a subset) read as a result where the file is
  -- read alone (tryQ F8); the report's table has its QUICK banner too
  if task.quick then
    local marked = {quick = true}
    for k, v in pairs(row) do marked[k] = v end
    row = marked
  end
  util.write_json(task:path("beyond.json"), row)
end

---B.read(path) -> table|nil, string
---The row in path, checked; nil and why ("path: no such file", "path: not
---JSON", "path: 'ours' must be ...") when it is missing or breaks the
---contract.
---Example: local row, why = B.read("plots/task13_weight_spectra/beyond.json")
function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil, path .. ": no such file (the task's report step writes it)" end
  local text = f:read("a")
  f:close()
  local ok, t = pcall(require("cjson").decode, text)
  if not ok then return nil, path .. ": not JSON (" .. tostring(t) .. ")" end
  local why = problem(t)
  if why then return nil, path .. ": " .. why end
  return t
end

---B.verdict(n_agree, n) -> string
---"agree" when all n parts agree, "differ" when none does, else "partly".
---Example: print(B.verdict(1, 2)) -- partly
function M.verdict(yes, n)
  if yes == n then return "agree" end
  if yes == 0 then return "differ" end
  return "partly"
end

---B.against_one_run(xs, published) -> table
---Our per-seed values xs against a number published from one run: the mean
---m, sd s, n, the 95 % CI of the mean [lo, hi] (Student's t, n - 1 df) and
---the 95 % prediction interval of one new run [plo, phi] (m +- t s
---sqrt(1 + 1/n)), and the verdict by one rule: "agree" when published lies
---inside the CI of the mean; "partly" when outside it but inside the
---prediction interval (one run of ours could land there, as theirs is one
---run); "differ" when outside both; "undecided" with fewer than 2 values.
---Example: print(B.against_one_run({0.9833, 0.9859, 0.9834}, 0.984).verdict)
function M.against_one_run(xs, published)
  if type(xs) ~= "table" then
    error("bad argument #1 to 'against_one_run' (table of numbers expected, got "
      .. type(xs) .. ")", 2)
  end
  for i, x in ipairs(xs) do
    if type(x) ~= "number" or x ~= x then
      error(string.format("bad argument #1 to 'against_one_run' (xs[%d]: a number expected, "
        .. "got %s)", i, tostring(x)), 2)
    end
  end
  if type(published) ~= "number" or published ~= published then
    error("bad argument #2 to 'against_one_run' (number expected, got "
      .. tostring(published) .. ")", 2)
  end
  local r = {n = #xs}
  r.m, r.s = wb.runs.mean_std(xs)
  if r.n < 2 then r.verdict = "undecided"; return r end
  local t = wb.inference.t_quantile(0.05, r.n - 1)
  local h, ph = t * r.s / math.sqrt(r.n), t * r.s * math.sqrt(1 + 1 / r.n)
  r.lo, r.hi, r.plo, r.phi = r.m - h, r.m + h, r.m - ph, r.m + ph
  r.verdict = (published >= r.lo and published <= r.hi) and "agree"
    or (published >= r.plo and published <= r.phi) and "partly" or "differ"
  return r
end

---B.pct_interval(lo, hi) -> string
---An interval of a share (an accuracy in [0, 1]) in percent, "[a, b]", its
---ends clipped to [0, 100] %, as no accuracy passes them, and said so with
---the t interval's own end: a prediction interval of 3 quick seeds printed
---[66.19, 102.61] (tryT T5). The verdicts use the unclipped ends; clipping
---moves no published accuracy in or out.
---Example: print(B.pct_interval(0.6619, 1.0261)) --> [66.19, 100.00] (clipped at 100 %: ...)
function M.pct_interval(lo, hi)
  for i, x in ipairs{lo, hi} do
    if type(x) ~= "number" or x ~= x then
      error(string.format("bad argument #%d to 'pct_interval' (number expected, got %s)", i,
        tostring(x)), 2)
    end
  end
  local cut = {}
  if lo < 0 then cut[#cut + 1] = string.format("at 0 %%: t gives %.2f", 100 * lo) end
  if hi > 1 then cut[#cut + 1] = string.format("at 100 %%: t gives %.2f", 100 * hi) end
  local out = string.format("[%.2f, %.2f]", 100 * math.max(lo, 0), 100 * math.min(hi, 1))
  if #cut == 0 then return out end
  return string.format("%s (clipped %s, past what an accuracy can be)", out,
    table.concat(cut, "; "))
end

return M
