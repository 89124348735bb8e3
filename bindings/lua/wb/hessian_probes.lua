-- wb/hessian_probes.lua: the seed of wb.hessian.trace's and density's
-- probes when the call gives none (wb/hessian.lua). Private: not part of
-- wb's API.
--
-- A fixed default (seed 1, until this) drew the same probes at every call:
-- the estimates' errors were then correlated across calls (checkpoints,
-- batches, repeats of one call), so averaging them did not shrink the
-- error and a standard error over them misled. Drawing from a stream that
-- every call advances would make a call's probes depend on the calls the
-- process made before it (an experiment's measure hook would give a run
-- another number when other runs were measured first in the same process),
-- and the global generator is training's (wb.seed). So the k-th call on the
-- same weights and data (x, y) takes a seed hashed from their contents and
-- k: repeated calls draw fresh probes, a call on other weights or data
-- fresh ones too, and a script's numbers are the same at every run. trace
-- and density count their calls apart (density's key holds its name;
-- trace's is the data's alone, as it was): a density call leaves the
-- probes of the trace calls after it as they were.
local _ENV = require "wb.std"
local wb = require "wb"
local args = require "wb.args"

local M = {}

local repeats = {} -- hash of (weights, x, y) -> calls made with its probes so far

-- (model, data as trace takes them) -> the seed of the next call on them
-- (52 bits: exact in a JSON number, so a recorded seed draws the probes
-- again) and a function counting the call, to run once it succeeded (a
-- failed call changes nothing). data's errors are the operator's own
-- (args.data_xy, raised at trace's caller).
function M.next_seed(fname, model, data)
  local x, y = args.data_xy(fname, data, 3)
  local h = {wb.io._hash(x), wb.io._hash(y)}
  for _, p in ipairs(model:parameters()) do h[#h + 1] = wb.io._hash(p) end
  local key = wb.sys.hash_string(table.concat(h, " "))
  if fname ~= "trace" then key = wb.sys.hash_string(fname .. " " .. key) end
  local k = (repeats[key] or 0) + 1
  local seed = math.tointeger(tonumber(wb.sys.hash_string(key .. " " .. k):sub(1, 13), 16))
  return seed, function() repeats[key] = k end
end

return M
