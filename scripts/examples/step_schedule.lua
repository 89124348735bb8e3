-- scripts/examples/step_schedule.lua: SGD with a step schedule, step by
-- step. A per-step callback sets model.optimizer.lr before every step
-- (tenfold lower after each third of the training); log_every keeps the
-- loss and the lr of every 10th step, drawn against the step with a band
-- over seeds. Run: ./workbench scripts/examples/step_schedule.lua --quick

-- callbacks hook: the schedule, from the number of steps this run will take
local function step_schedule(cfg, _, d)
  local n_train = math.floor(#d.train * (1 - cfg.validation))
  local third = math.ceil(n_train / cfg.batch_size) * cfg.epochs // 3
  local cb = {}
  function cb:on_train_begin(model) self.model = model end
  function cb:on_train_batch_begin(step)
    self.model.optimizer.lr = cfg.lr * 0.1 ^ math.min((step - 1) // third, 2)
  end
  -- nothing to keep: the lr is a function of the step, so an interrupted
  -- run resumes from its last epoch (a callback without get_state restarts
  -- it from epoch 1, and the runner says so)
  function cb:get_state() return {} end
  function cb:set_state() end
  return {cb}
end

return wb.task{name = "step_schedule", title = "SGD with a step schedule, per step",
  experiment = {base = {hidden = 128, optimizer = "sgd", momentum = 0.9, epochs = 3,
      log_every = 10},
    vary = {lr = {0.1, 0.02}}, callbacks = step_schedule},
  report = function(task, runs)
    task:figure("loss", runs:plot_curves("loss", {x = "step",
      title = "Training loss per step (lr / 10 after each third)"}))
    -- steps: the lr is constant between changes; lines made each drop a ramp
    task:figure("lr", runs:plot_curves("lr", {x = "step", logy = true, steps = true,
      title = "Learning rate per step"}))
    task:text(runs:table{"test_accuracy", "loss"})
  end}
