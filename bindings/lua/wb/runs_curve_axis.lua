-- wb/runs_curve_axis.lua: what wb.Runs:plot_curves does with the y axis of
-- a measure that cannot be negative, and the name its title gives a series.
--
-- tryZ E1: SGD at lr 50 left a loss of 6.8e7 ± 2.9e8 (95 % CI) at epoch 1;
-- its symmetric band ran to -2.2e8 on a linear axis, where the curves of lr
-- 0.05 and 5 were a flat line at 0. A loss cannot be below 0, so its band
-- is drawn from 0 (the CSV keeps the interval), and values over more than
-- three decades are drawn on a log y axis unless the caller chose the axis.
local _ENV = require "wb.std"
local fmt = require "wb.runs_fmt"

local M = {}

-- Whether series `name` cannot be negative, decided from its name as the
-- library records it: a loss (loss, val_loss, test_loss: cross-entropy and
-- squared errors), an accuracy (fmt.is_pct, the tables' rule), a norm
-- (weight_norm_1, grad_norm_2), an lr or a time (epoch_time). A name that
-- says a difference (loss_change, gap, delta, rise) or a logarithm can be
-- negative; a name the library does not know is not assumed either way.
function M.nonneg(name)
  local n = name:lower()
  for _, w in ipairs{"change", "delta", "diff", "gap", "rise", "drop", "^log", "_log"} do
    if n:find(w) then return false end
  end
  if fmt.is_pct(name) then return true end
  for _, w in ipairs{"loss", "norm", "^lr$", "time"} do
    if n:find(w) then return true end
  end
  return false
end

-- Whether series `name`, drawn as series ss, cannot be negative: by its name (M.nonneg) and
-- by what is drawn, no mean and no seed's minimum (a step band's lo) below 0. A name is only
-- a hint: val_minus_train_loss, a measure of one's own, had means of -1.9e6 and its band was
-- drawn from 0, above its line, "band clipped at 0" (tryAB A2).
function M.nonneg_drawn(name, ss)
  if not M.nonneg(name) then return false end
  for _, s in ipairs(ss) do
    for j = 1, #s.y do
      if s.y[j] < 0 or s.lo and s.lo[j] and s.lo[j] < 0 then return false end
    end
  end
  return true
end

-- The decades the finite positive means of series ss span (log10 of max /
-- min; 0 when fewer than two such values), and their min and max.
local function decades(ss)
  local lo, hi
  for _, s in ipairs(ss) do
    for _, v in ipairs(s.y) do
      if v == v and v > 0 and v < math.huge then
        lo, hi = math.min(lo or v, v), math.max(hi or v, v)
      end
    end
  end
  if not lo then return 0 end
  return math.log(hi / lo, 10), lo, hi
end

-- The y scale of plot_curves (its options o) for series `name` drawn as
-- the variants' series ss (in the axis' unit, refs not among them): logy
-- (true, false or nil) and a note for the title ("log y ...") when it was
-- chosen here. A nonnegative measure over more than 3 decades gets a log
-- axis unless the caller chose a linear one, logy = false or a yrange (then
-- one line on stderr says a log axis would show it).
function M.logy(name, o, ss)
  if o.logy or not M.nonneg_drawn(name, ss) then return o.logy end
  local dec, lo, hi = decades(ss)
  if dec <= 3 then return o.logy end
  if o.logy == false or o.yrange then
    io.stderr:write(string.format("wb.Runs:plot_curves: '%s' spans %.0f decades (%.3g to "
      .. "%.3g) on a linear y axis (%s); logy = true would show every curve\n",
      name, dec, lo, hi, o.logy == false and "logy = false" or "yrange given"))
    return o.logy
  end
  return true, string.format("log y: the means span %.0f decades", dec)
end

-- Whether a band edge of series ss goes below 0 (err: mean - err; lo): a
-- nonnegative measure's band is then drawn from 0 (wb.plot.lines'
-- band_floor), and the title says so.
function M.clips(ss)
  for _, s in ipairs(ss) do
    for j = 1, #s.y do
      local lo = s.err and s.y[j] - s.err[j] or s.lo and s.lo[j]
      if lo and lo == lo and lo < 0 then return true end
    end
  end
  return false
end

-- Whether every series of ss that has a band has one finite point (runs of
-- one epoch): wb.plot.lines draws those as error bars, which the title says.
function M.bars(ss)
  local any = false
  for _, s in ipairs(ss) do
    if s.err or s.lo then
      local k = 0
      for j = 1, #s.y do if s.y[j] == s.y[j] then k = k + 1 end end
      if k > 1 then return false end
      any = any or k == 1 -- (k = 0: a variant with no run finished, no point)
    end
  end
  return any
end

-- The title's name of series `name` of records recs (without a title of
-- the caller's), and a note going first in its parenthesis: fit's training
-- loss and metrics (loss, accuracy, and any name with a val_ twin) are the
-- running mean over the epoch's batches, dropout on (wb/fit.lua), not the
-- model's at the epoch's end as val_ ones are: "accuracy" alone read as
-- the latter (tryZ E4). A step series (x = "step") gets no epoch note.
function M.name(name, recs, o)
  local train = name == "loss" or name == "accuracy"
  for _, r in ipairs(recs) do
    if (r.history or {})["val_" .. name] ~= nil then train = true end
  end
  if not train or name:find("^val_") then return name, nil end
  if o.x == "step" then return "training " .. name, nil end
  return "training " .. name, "running mean over the epoch"
end

return M
