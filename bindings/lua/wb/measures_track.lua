-- wb/measures_track.lua: wb.measures.track, the callback recording each
-- epoch's gradient and weight norms of the Dense kernels (claims C4, C7).
-- Part of wb.measures (loaded by wb/measures.lua).
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"
local util = require "wb.util"
local M = wb.measures

---wb.measures.track(opts) -> table
---A callback recording, at the end of every epoch, the gradient norm of
---each Dense layer's kernel (of the data loss, L2 left out, as
---wb.measures.loss_and_grads's) on a fixed batch (the first opts.n = 1024 rows
---of opts.data; claim C7) and each kernel's norm (C4): cb.series holds
---{grad_norm_1 = {...}, weight_norm_1 = {...}, ...}; cb.seconds the time
---spent measuring. Its series are part of a training state (get_state and
---set_state): fit{resume} and a runner's interrupted run go on with them.
---@param opts table
---@return table
---Example: local cb = wb.measures.track{data = d.train}
---  m:fit(d.train, {epochs = 3, callbacks = {cb}}); print(cb.series.grad_norm_1[3])
function M.track(o)
  args.check("track", 1, o, "table")
  util.check_options(o, {"data", "n"}, "track", 2)
  if args.typename(o.data) ~= "wb.Dataset" then
    args.input_fail("track: data must be a wb.Dataset, got " .. args.typename(o.data), 2)
  end
  if #o.data == 0 then -- else an error inside fit, at the first epoch's end
    args.input_fail("track: data: expected at least 1 row, got an empty dataset", 2)
  end
  -- a whole number of rows: 1e3 is 1000 (as luaL_checkinteger takes it)
  local n = math.type(o.n) == "float" and math.tointeger(o.n) or o.n
  if n ~= nil and (math.type(n) ~= "integer" or n < 1) then
    args.input_fail("track: n must be a positive integer (rows), got " .. tostring(o.n), 2)
  end
  local cb = {series = {}}
  local x, y
  function cb:on_train_begin(model)
    self.model = model
  end
  cb.seconds = 0
  function cb:on_epoch_end()
    local t0 = wb.sys.time()
    local model = self.model
    if not x then x, y = M._sample(o.data, n or 1024) end
    M.loss_and_grads(model, x, y, true)
    for i, l in ipairs(M.dense_layers(model)) do
      local g = cb.series["grad_norm_" .. i] or {}
      g[#g + 1] = l.grad_weight:norm()
      cb.series["grad_norm_" .. i] = g
      local w = cb.series["weight_norm_" .. i] or {}
      w[#w + 1] = l.weight:norm()
      cb.series["weight_norm_" .. i] = w
    end
    model:zero_grad()
    self.seconds = self.seconds + wb.sys.time() - t0
  end
  -- the series so far are state: without them a resumed fit's held its own
  -- epochs only, and a runner never resumed a run that tracks (audit Z6)
  function cb:get_state() return {series = self.series, seconds = self.seconds} end
  function cb:set_state(st)
    args.check("set_state", 1, st, "table")
    self.series, self.seconds = st.series or {}, st.seconds or 0
  end
  return cb
end
