-- harness_runs.lua: the harness's comparisons of two training runs, bit for bit:
-- T.history_diff (histories) and T.same_weights (weights). Part of harness.lua's T, which
-- loads it: harness.lua alone is at the 400-line limit (test_file_sizes). Not
-- test_*.lua, so tests/run.sh does not run it as a test.
return function(T)
  -- Every difference between two histories, as lines "path: a vs b" appended
  -- to out (epoch_time aside: a clock; NaN equals NaN).
  function T.history_diff(a, b, path, out)
    if type(a) ~= type(b) then
      out[#out + 1] = path .. ": " .. tostring(a) .. " vs " .. tostring(b)
    elseif type(a) == "table" then
      local keys = {}
      for k in pairs(a) do keys[k] = true end
      for k in pairs(b) do keys[k] = true end
      for k in pairs(keys) do
        if k ~= "epoch_time" then T.history_diff(a[k], b[k], path .. "." .. tostring(k), out) end
      end
    elseif a ~= b and not (a ~= a and b ~= b) then
      out[#out + 1] = path .. ": " .. tostring(a) .. " vs " .. tostring(b)
    end
    return out
  end

  local function weights(m)
    if getmetatable(m) and m.get_weights then return m:get_weights() end
    return m
  end

  local function shape(t) return "[" .. table.concat(t:shape(), ", ") .. "]" end

  -- Are two models (or two lists of tensors, as get_weights gives) bit-equal? The same
  -- number of parameters, each of the same shape (checked first: a subtraction would
  -- broadcast a row against a matrix), and == on every element. So a NaN is never equal,
  -- not even to a NaN in the same place, as the per-test copies this replaced had it
  -- (they tested a - b with max and min, which NaN poisons); -0 equals 0, as there.
  -- Returns true, or false and where the first difference is, which T.ok then reports:
  --   T.ok(T.same_weights(a, b))
  function T.same_weights(a, b)
    local wa, wb_ = weights(a), weights(b)
    if #wa ~= #wb_ then
      return false, string.format("%d parameters vs %d", #wa, #wb_)
    end
    for i = 1, #wa do
      if shape(wa[i]) ~= shape(wb_[i]) then
        return false, string.format("parameter %d: shape %s vs %s", i, shape(wa[i]), shape(wb_[i]))
      end
      local n = wa[i]:numel()
      local x, y = wa[i]:clone():reshape(n), wb_[i]:clone():reshape(n)
      for j = 1, n do
        local u, v = x:get(j), y:get(j)
        if u ~= v then
          return false, string.format("parameter %d %s, element %d: %.9g vs %.9g", i,
            shape(wa[i]), j, u, v)
        end
      end
    end
    return true
  end
end
