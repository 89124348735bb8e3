-- wb/inference_exact.lua: the exact permutation test of wb.inference
-- (wb.inference.permutation_p), which the report's parts and
-- wb.compare.decide use when one side's seeds do not spread (any values),
-- where Welch's df comes from the other side alone, and the study's ANOVA
-- when some variant's seeds do not spread. Counts every deal of the pooled
-- values by value: no random numbers.
local _ENV = require "wb.std"
local args = require "wb.args"

local M = {}

-- C(n, k) as a float (the counts here are seeds: small)
local function choose(n, k)
  local c = 1
  for i = 1, k do c = c * (n - k + i) / i end
  return c
end

---wb.inference.permutation_p(groups, budget) -> number|nil
---The exact permutation p of the groups' differences: the share of all
---ways to deal the pooled values into groups of these sizes whose between-
---group sum of squares is at least the observed one (two groups: the two-
---sided test of the difference of means; more: of one-way ANOVA's F, which
---grows with it). Every deal is counted (values that agree by rounding,
---as in wb.welch, are one value; deals are counted by value, so ties cost
---nothing), no random numbers. nil when that would take more than budget
---steps (default 2e6).
---@param groups number[][]
---@param budget? integer
---@return number|nil
---Example: print(wb.inference.permutation_p({{2, 2, 2}, {3, 4, 4}})) --> 0.1
function M.permutation_p(groups, budget)
  args.check("permutation_p", 1, groups, "table")
  for i, g in ipairs(groups) do
    args.check("permutation_p", 1, g, "table")
    for k, x in ipairs(g) do
      if type(x) ~= "number" or not (math.abs(x) < math.huge) then
        args.input_fail(string.format("bad argument #1 to 'permutation_p' (lists of finite numbers "
          .. "expected, group %d item %d is %s)", i, k, tostring(x)), 2)
      end
    end
  end
  args.opt("permutation_p", 2, budget, "number")
  local constant = require("wb.inference")._constant
  local vals, cnt, n, total = {}, {}, 0, 0
  local idx = {} -- each group's values as indices into vals
  for gi, g in ipairs(groups) do
    idx[gi] = {}
    for _, x in ipairs(g) do
      local j = #vals + 1
      for i, v in ipairs(vals) do if constant({v}, {x}) then j = i; break end end
      vals[j], cnt[j] = vals[j] or x, (cnt[j] or 0) + 1
      idx[gi][#idx[gi] + 1] = j
      n, total = n + 1, total + x
    end
  end
  -- centred values: the statistic sum_g S_g^2 / n_g is then the between-group
  -- sum of squares, not that plus N * mean^2, whose size would hide its steps
  local mean, tss = total / n, 0
  for j, v in ipairs(vals) do vals[j] = v - mean; tss = tss + cnt[j] * vals[j] ^ 2 end
  local obs = 0
  for gi, g in ipairs(idx) do
    local s = 0
    for _, j in ipairs(g) do s = s + vals[j] end
    obs = obs + s * s / #groups[gi]
  end
  local steps, memo = 0, {}
  -- deal(i, left): {statistic of groups i.. = ways} for the values left
  local function deal(i, left)
    local key = i .. ":" .. table.concat(left, ",")
    if memo[key] then return memo[key] end
    local out, size, c = {}, #groups[i], {}
    local function comp(j, need, ways, s)
      steps = steps + 1
      if steps > (budget or 2e6) then error(M) end
      if j > #vals then
        if need > 0 then return end
        local st = s * s / size
        if i == #groups then out[st] = (out[st] or 0) + ways; return end
        for v = 1, #vals do left[v] = left[v] - c[v] end
        for rest, w in pairs(deal(i + 1, left)) do
          out[st + rest] = (out[st + rest] or 0) + ways * w
        end
        for v = 1, #vals do left[v] = left[v] + c[v] end
        return
      end
      local top = j == #vals and need or math.min(need, left[j])
      for k = j == #vals and need or 0, top do
        if k <= left[j] then
          c[j] = k
          comp(j + 1, need - k, ways * choose(left[j], k), s + k * vals[j])
        end
      end
    end
    comp(1, size, 1, 0)
    memo[key] = out
    return out
  end
  local ok, dist = pcall(deal, 1, {table.unpack(cnt)})
  if not ok then
    if dist == M then return nil end
    error(dist, 0)
  end
  local hit, all = 0, 0
  for st, w in pairs(dist) do
    all = all + w
    -- equal statistics up to rounding are ties: counted as at least as large
    if st >= obs - 1e-9 * tss then hit = hit + w end
  end
  return math.min(1, hit / all)
end

return M
