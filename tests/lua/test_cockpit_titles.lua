-- test_cockpit_titles.lua: the gnuplot cockpit's panel titles fit their
-- panel (wb/cockpit_dumb.lua): gnuplot's dumb terminal drew no title wider
-- than its panel, so at 60 columns the alpha panel had none (a new user's
-- COLUMNS=60 run: an untitled panel of '.....' beside the gsnr one).
local T = dofile("tests/lua/harness.lua")
local dumb = require "wb.cockpit_dumb"

T.test("a title keeps its marks when both fit, else its words, else its start", function()
  T.eq(dumb.fit_title("alpha (0 = ideal step)", "  (* alpha, . 0)", 38),
    "alpha (0 = ideal step)  (* alpha, . 0)")
  T.eq(dumb.fit_title("alpha (0 = ideal step)", "  (* alpha, . 0)", 28), "alpha (0 = ideal step)")
  T.eq(dumb.fit_title("gradient signal-to-noise ratio", "", 28), "gradient signal-to-noise")
  T.eq(dumb.fit_title("gradient signal-to-noise ratio", "", 30), "gradient signal-to-noise ratio")
  T.eq(dumb.fit_title("distance_from_initialisation", "", 10), "distance_f")
end)

T.test("every panel's title is at most its panel's width, at 60 columns too", function()
  local function panel(title, zero)
    return {title = title, zero = zero, series = {{label = "a", x = {1, 2}, y = {1, 2}}}}
  end
  for _, term in ipairs{60, 80, 42} do
    local fig = dumb.figure({panel("loss"), panel("gradient norm"),
      panel("alpha (0 = ideal step)", true), panel("gradient signal-to-noise ratio")}, 1, 2, term)
    local width = math.max(40, math.min(wb.plot.style.dumb_size[1], term - 2))
    local plots = fig.d.plots
    T.eq(#plots, 4)
    for i, p in ipairs(plots) do
      T.ok(#p.d.title > 0 and #p.d.title <= width // 2 - 1, string.format("%d columns, panel %d: %s",
        term, i, p.d.title))
    end
    T.ok(plots[3].d.title:find("^alpha"), plots[3].d.title)
  end
end)

-- An instrument with no panel is named once on stderr, never left out without a word (tryAA
-- B2: {"distance"} drew a loss panel alone); those with panels are not named.
T.test("instruments without a panel are said once; those with one are not", function()
  local d = wb.data.mnist()
  local function fit(instruments)
    local m = wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
      wb.nn.Dense(8, 10, {activation = "softmax"})}
    local stdout = io.stdout -- the frames: not the test's output
    io.stdout = io.open("/dev/null", "w")
    local _, err = T.stderr_of(function()
      return m:fit(d.train:subset(1, 200), {epochs = 1, batch_size = 50, optimizer = "sgd",
        verbose = false, cockpit = 2, instruments = instruments})
    end)
    io.stdout:close()
    io.stdout = stdout
    return err
  end
  local err = fit({"distance", "grad_norm", "update_size"})
  local _, n = err:gsub("no panel for", "")
  T.eq(n, 1, err)
  T.ok(err:find("fit: cockpit: no panel for distance, update_size (measured, and kept in the "
    .. "history); the cockpit has panels for loss, grad_norm, hess_max, alpha and gsnr only",
    1, true), err)
  err = fit({"loss", "grad_norm", "gsnr"})
  T.ok(not err:find("no panel", 1, true), err)
end)

T.done()
