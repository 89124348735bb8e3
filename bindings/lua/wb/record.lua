-- wb/record.lua: where run records live. One place composes the runs
-- folder and the file names of a run's record, weights and spec.
local M = {}

-- The root folder of figures and runs: root, else $WB_PLOTS, else "plots".
function M.root(root) return root or os.getenv("WB_PLOTS") or "plots" end

-- The runs folder of a root: <root>/runs.
function M.dir(root) return M.root(root) .. "/runs" end

-- A run's file: <root>/runs/<task>-<hash>.<ext> (ext "json", "safetensors",
-- "spec.json", "log").
function M.path(root, task, hash, ext)
  return M.dir(root) .. "/" .. task .. "-" .. hash .. "." .. ext
end

return M
