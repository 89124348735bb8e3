-- wb/init.lua: the Lua half of the workbench library.
--
-- Called by luaopen_wb with the `wb` table that the C bindings filled in
-- (tensors, data, layers, optimizers, images, checkpoints). Each Lua module
-- below adds its part to the same table; they `require "wb"` to reach it.
local wb = ...

-- Lua modules, in dependency order. A module returns a function that
-- installs its names into wb.
local modules = {
  "wb.data", "wb.tensor_ext", "wb.nn", "wb.fit", "wb.callbacks", "wb.checkpoint",
  "wb.plot", "wb.image", "wb.record", "wb.experiment", "wb.runs", "wb.runs_export", "wb.task", "wb.measures", "wb.study", "wb.report",
  "wb.lab", "wb.help",
}
for _, name in ipairs(modules) do
  local ok_path = package.searchpath(name, package.path)
  if ok_path and ok_path:find(wb.luadir, 1, true) == 1 then
    require(name)
  end
end
return wb
