---@meta
-- bindings/lua/meta/wb.lua: the values bindings/wb.c (luaopen_wb) sets on
-- wb itself. Hand-written Lua language-server annotations, and the one
-- source of these names' help text (format: bindings/lua/wb/help.lua;
-- values are a bare name with a ---@type tag). Never run.

---wb.version
---@type string
---The workbench version ("0.1.0"), as `workbench -v` prints it with the
---Lua, OpenBLAS and libpng versions. Each run record stores it.
---Example: print(wb.version)
wb.version = ""

---wb.core_id
---@type string
---A hash of the C core's sources (core/), fixed when workbench is built:
---part of a run's identity, so that a run trained by another core is not
---adopted as the same run. Absent in a build without it.
---Example: print(wb.core_id)
wb.core_id = ""

---wb.core_files
---@type string
---The `cksum` of each source file of wb.core_id, one "crc size path" line
---each (path relative to the source tree), fixed when workbench is built.
---A task's runner compares them with the files of the source tree beside
---the Lua library, and refuses to train when they differ (run make).
---Absent in a build without it.
---Example: print(wb.core_files)
wb.core_files = ""

---wb.luadir
---@type string
---The folder the Lua library was loaded from (holding wb/ and meta/),
---found from the binary's own path: bindings/lua beside it in the source
---tree, else <prefix>/share/workbench/lua when installed, else the source
---tree it was built from. help reads its doc blocks from here.
---Example: print(wb.luadir)
wb.luadir = ""
