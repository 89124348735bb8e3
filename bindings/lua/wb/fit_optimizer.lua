-- wb/fit_optimizer.lua: fit's optimizer option (nil, a name or an
-- optimizer object), refused when its state is another model's.
local _ENV = require "wb.std"
local wb = require "wb"

local M = {}

-- One optimizer built before a loop over seeds and given to each model's
-- fit carried the first model's moments, step count and lowered lr into the
-- second's: seed 2's numbers were not seed 2's run, without a word (tryN 1).
-- Keras 3 refuses an optimizer built for other variables, and PyTorch's is
-- bound to its parameters; fit refuses one whose state is another model's,
-- unless it is empty (new, or reset()) or a resume replaces it. Whose it is,
-- the optimizer knows (opt:_owns, bindings/l_optim.c: its step refuses the
-- others' parameters too); a Lua optimizer of the user's is not asked.

-- fit's optimizer option: nil (Adam), a name or a wb.Optimizer; for model
-- (resume: the path fit resumes from, whose state the optimizer takes).
function M.make_optimizer(o, model, resume)
  if o == nil then o = "adam" end
  if type(o) == "string" then
    local names = {adam = "Adam", adamw = "AdamW", sgd = "SGD", rmsprop = "RMSprop"}
    local cls = names[o:lower()]
    if not cls then
      error("fit: unknown optimizer '" .. o .. "' (adam, adamw, sgd, rmsprop)", 3)
    end
    o = wb.optim[cls]{} -- its model's (model.optimizer given to another's: refused)
  end
  local steps = o.iterations -- a Lua table of the user's: no count, and no _owns
  if not resume and type(o) == "userdata" and math.type(steps) == "integer" and steps > 0
      and o:_owns((model:parameters())) == false then
    error(string.format("fit: optimizer %s has taken %d step%s in the fit of another model: its "
      .. "moments, step count and learning rate are that model's, and this one would start "
      .. "from them. Give each model a new optimizer (build it inside a loop over seeds), or "
      .. "call its reset() first; to go on from a saved training, fit{resume = <the file of "
      .. "model:save_state>}", tostring(o), steps, steps == 1 and "" or "s"), 3)
  end
  return o
end

return M
