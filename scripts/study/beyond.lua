-- scripts/study/beyond.lua (`local B = require "study.beyond"`): the row an
-- experiment beyond the study gives the report's "Beyond the study" table.
-- The contract between a beyond task and scripts/report.lua: the task's
-- report step writes <its folder>/beyond.json =
--   {experiment = "...", ours = "...", published = "...", source = "...",
--    verdict = "agree" | "differ" | "partly" | "undecided"}
-- (ours: our deciding number; published: the number it is held against;
-- source: where that number is published; undecided: too few seeds to
-- decide), and the report reads it; a
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
  for k in pairs(t) do
    if not known[k] then
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

return M
