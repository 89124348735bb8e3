---@meta
-- bindings/lua/meta/data.lua: the C API of bindings/l_data.c, the IDX reader
-- and the batch gatherer of wb.data.
-- Hand-written Lua language-server annotations, and the one source of
-- these names' help text: help() reads the `---` blocks as it reads the Lua
-- modules' (format: bindings/lua/wb/help.lua). Never run: bodies are empty.

---wb.data.idx(path) -> wb.Tensor
---Loads an IDX file (the MNIST format; gzip-compressed files too) as a
---tensor: uint8 for ubyte files, else float32 (int32 and double values
---rounded to float32: integers exact up to 2^24), with the file's shape. Every
---length is checked against the file size; a bad file is an error naming
---the path and the field (sizes that fit only read little-endian are named
---so: IDX sizes are big-endian). A double beyond float32's range (1e300) is an
---error naming the element, as wb.tensor{1e300} is (not inf).
---@param path string
---@return wb.Tensor
---Example: local labels = wb.data.idx("data/mnist/t10k-labels-idx1-ubyte")
function wb.data.idx(path) end

---wb.data.gather(x, y, images, labels, idx, first, count)
---Copies the samples idx[first .. first+count-1] (1-based row numbers in a
---float32 tensor) of images [n, ...] (uint8, divided by 255, or float32) and
---labels [n] into the buffers x (float32 [>= count, features]) and y (uint8
---[>= count]).
---The primitive under ds:batch; allocates nothing.
---@param x wb.Tensor
---@param y wb.Tensor
---@param images wb.Tensor
---@param labels wb.Tensor
---@param idx wb.Tensor
---@param first integer
---@param count integer
---Example: wb.data.gather(x, y, ds.images, ds.labels, perm, 1, 32)
function wb.data.gather(x, y, images, labels, idx, first, count) end
