---@meta
-- bindings/lua/meta/io.lua: the C API of bindings/l_io.c, safetensors files
-- (wb.io).
-- Hand-written Lua language-server annotations, and the one source of
-- these names' help text: help() reads the `---` blocks as it reads the Lua
-- modules' (format: bindings/lua/wb/help.lua). Never run: bodies are empty.

---wb.io
---Low-level safetensors files (the format of model:save and checkpoints,
---readable by Python's safetensors). Models use model:save, wb.load and
---model:load_weights instead.
---Example: local ts, meta = wb.io.load_safetensors("m.safetensors")
wb.io = {}

---wb.io.save_safetensors(path, tensors, metadata)
---Writes the tensors (a table name -> wb.Tensor) and optional string
---metadata (name -> string) to path as a safetensors file, atomically
---(temporary file, then rename), names sorted.
---@param path string
---@param tensors table
---@param metadata? table
---Example: wb.io.save_safetensors("w.safetensors", {w = model[1].weight})
function wb.io.save_safetensors(path, tensors, metadata) end

---wb.io.load_safetensors(path) -> table, table, table
---Reads a safetensors file: its tensors (name -> wb.Tensor), its metadata
---(name -> string) and the tensor names in file order. float32 and uint8
---are supported; every offset and shape is checked against the file.
---@param path string
---@return table tensors
---@return table metadata
---@return table names
---Example: local ts, meta, names = wb.io.load_safetensors(run:weights_path())
function wb.io.load_safetensors(path) end
