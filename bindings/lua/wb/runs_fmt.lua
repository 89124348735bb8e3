-- wb/runs_fmt.lua: the text of a mean ± sd over seeds in tables, findings
-- (wb.compare) and the report's claims. Installed as wb.runs.fmt_mean_std
-- by wb/runs_stats.lua; formats numbers only, reads no record.
local _ENV = require "wb.std"
local args = require "wb.args"

local M = {}

-- Accuracies (and accuracies under perturbation) are shown in percent: in
-- tables, findings, and figures of series (wb/runs_curve_note.lua's in_unit).
-- (silenced_N: the accuracy with N % of the units silenced; not any silenced_*, which showed a
-- measure silenced_loss of 0.35 as 35.00 %: tryAB A1)
local function is_pct(name)
  return name and (name:find("accuracy") or name:find("^silenced_%d+$")) ~= nil
end

-- A count of epochs or units (epochs_run, dead_units), not a time per epoch.
local function count_name(name) return name ~= nil and (name:find("epoch") and not
  name:find("^sec") and not name:find("time") or name:find("units")) ~= nil end
-- (a mean times n is a sum: 8 / 3 * 3 may miss 8 by a rounding)
local function whole(x) return math.abs(x - math.floor(x + 0.5)) <= 1e-9 * math.abs(x) + 1e-9 end

-- "m ± s" (s nil: m alone) when the larger of |m| and s is below 0.01, else
-- nil (4 decimals show it). 4 decimals showed a sharpness of 7e-4 as
-- "0.0007 ± 0.0001", one digit, and 3e-5 as "0.0000" beside a difference
-- found beyond the seeds' uncertainty (tryE 3). Here the larger has 3
-- significant digits and the other the same decimal place, "0.000712 ±
-- 0.000105", the sd's resolution bounding the mean's digits; below 1e-4,
-- the larger's exponent, "3.10e-05 ± 0.20e-05" (no zeros to count by eye).
local function small(m, s)
  local big = math.max(math.abs(m), s or 0)
  if not (big > 0 and big < 0.01) then return nil end -- also NaN
  -- the exponent big is written with (0.009996 rounds to 1.00e-02)
  local e = tonumber(string.format("%.2e", big):match("e(.*)$"))
  local f
  if e >= -2 then return nil
  elseif e >= -4 then
    local fx = "%." .. (2 - e) .. "f"
    f = function(x) return string.format(fx, x) end
  else
    f = function(x) return string.format("%.2fe%+03d", x / 10 ^ e, e) end
  end
  return s and (f(m) .. " ± " .. f(s)) or f(m)
end

---wb.runs.fmt_mean_std(m, s, name, n) -> string
---"m ± s" (mean ± sd over seeds) for tables: accuracies (and silenced_*
---measures) in percent with 2 decimals, epoch (not epoch_time) and unit
---counts with 1 decimal (as integers when every seed agrees: "12 ± 0"; with
---n, only when the n values sum to a whole number: loss_per_epoch is no
---count), large or integral values with 4 significant digits; when the
---larger of |m| and s is below 0.01, 3 significant digits of it and the
---other at the same decimal place ("0.000712 ± 0.000105"; below 1e-4 in the
---larger's exponent, "3.10e-05 ± 0.20e-05"); others with 4 decimals; the
---value alone when n is 1 or s is nil; "n/a" when m is nil.
---@param m? number
---@param s? number
---@param name? string
---@param n? integer
---@return string
---Example: print(wb.runs.fmt_mean_std(0.9812, 0.0011, "test_accuracy"))
---  print(wb.runs.fmt_mean_std(7.123e-4, 1.05e-4, "sharpness")) --> 0.000712 ± 0.000105
function M.fmt_mean_std(m, s, name, n)
  args.opt("fmt_mean_std", 1, m, "number")
  args.opt("fmt_mean_std", 2, s, "number")
  args.opt("fmt_mean_std", 3, name, "string")
  args.opt("fmt_mean_std", 4, n, "integer")
  if m == nil then return "n/a" end
  local one = s == nil or n == 1
  local pct = is_pct(name)
  local fm, fs
  if pct then fm, fs, m, s = "%.2f", "%.2f", 100 * m, 100 * (s or 0)
  -- epoch counts, not times: epoch_time (seconds) showed 0.04 s as "0.0"
  elseif count_name(name) and (n == nil or whole(m * n)) then
    if m == math.floor(m) and (s or 0) == 0 then fm, fs = "%d", "%d"
    else fm, fs = "%.1f", "%.1f" end
  elseif math.abs(m) >= 100 and math.abs(m) < 1e6 then -- 12730, not "1.273e+04" (tryI)
    fm = m == math.floor(m) and (s or 0) == 0 and "%d" or "%.1f"
    fs = (s or 0) == math.floor(s or 0) and "%d" or "%.1f"
  elseif math.abs(m) >= 1e6 or m == math.floor(m) and (s or 0) == 0 then fm, fs = "%.4g", "%.2g"
  else
    local text = small(m, not one and s or nil)
    if text then return text end
    fm, fs = "%.4f", "%.4f"
  end
  local mt = string.format(fm, m)
  if mt:match("^%-[0.]+$") then mt = mt:sub(2) end -- -1e-12 read "-0.0000" (tryO 5)
  -- a mean below 100 % never reads 100.00 % (0.99996 did: a table claiming perfection)
  for d = 3, 8 do
    if not (pct and m < 100 and tonumber(mt) >= 100) then break end
    mt = string.format("%." .. d .. "f", m)
  end
  local text = one and mt or (mt .. " ± " .. string.format(fs, s))
  return pct and (text .. " %") or text
end

M.count_name, M.is_pct = count_name, is_pct
return M
