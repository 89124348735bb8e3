-- wb/init.lua: the Lua half of the workbench library.
--
-- Called by luaopen_wb with the `wb` table that the C bindings filled in
-- (tensors, data, layers, optimizers, images, checkpoints). Each module
-- below adds its names to the same table (they `require "wb"` to reach it).
-- The list is explicit and a missing module is an error: nothing is skipped.
local _ENV = require "wb.std"
local wb = ...

local modules = {
  "wb.data", "wb.nn", "wb.fit", "wb.callbacks", "wb.checkpoint", "wb.plot", "wb.image",
  "wb.record", "wb.inference", "wb.identity", "wb.spec", "wb.runs", "wb.runs_export",
  "wb.train", "wb.experiment", "wb.compare", "wb.slurm", "wb.runner", "wb.task",
  "wb.measures", "wb.hessian", "wb.instruments", "wb.cockpit", "wb.lab", "wb.help",
  "wb.noise_scale",
  "wb.landscape",
}
for _, name in ipairs(modules) do require(name) end
return wb
