-- harness_runs.lua: the harness's comparisons of two training runs, bit for bit:
-- T.history_diff (histories). Part of harness.lua's T, which loads it: harness.lua
-- alone is at the 400-line limit (test_file_sizes). Not test_*.lua, so tests/run.sh
-- does not run it as a test.
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
end
