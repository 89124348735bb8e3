---@meta
-- bindings/lua/meta/error.lua: the C API of bindings/lwb.c, the error object
-- every core failure raises.
-- Hand-written Lua language-server annotations, and the one source of
-- these names' help text (format: bindings/lua/wb/help.lua). Never run.

---wb.Error{code = code, message = message, path = path} -> wb.Error
---The error object a failure of the core raises: code is the kind
---("EINVAL", "ESHAPE", "ERANGE", "ENOMEM", "EIO", "EFORMAT", "ESTATE",
---"ENONFINITE", "ENOENT", "ECREATE"), message the text (tostring(e)
---gives it), path the file involved when there is one. A failure raised
---by the core also has reason, the core's words alone (no position, no
---"bad argument #n to 'f'"), for a caller that gives its own context.
---workbench exits by code (README, Exit status). Raise one from Lua with
---error(wb.Error{...}).
---@param t table
---@return wb.Error
---Example: local ok, e = pcall(wb.load, "none.safetensors"); print(e.code, e.path)
function wb.Error(t) end

---wb.is_error(v) -> boolean
---Whether v is a wb.Error (the value pcall returns for a core failure).
---@param v any
---@return boolean
---Example: local ok, e = pcall(wb.data.idx, "x"); if wb.is_error(e) then print(e.code) end
function wb.is_error(v) end
