package io.github.stablerep.models.diffusion;

/** The samplers this library implements, each with diffusers' config semantics. */
public enum SchedulerType {
  /** {@link DdimScheduler}: diffusers' {@code DDIMScheduler} (StableRep's sampler: 50 steps, eta 0). */
  DDIM("DDIMScheduler"),
  /** {@link PndmScheduler}: diffusers' {@code PNDMScheduler} (PLMS; the default of SD v1.5's folder). */
  PNDM("PNDMScheduler"),
  /** {@link EulerDiscreteScheduler}: diffusers' {@code EulerDiscreteScheduler}. */
  EULER("EulerDiscreteScheduler"),
  /** {@link DpmSolverMultistepScheduler}: diffusers' {@code DPMSolverMultistepScheduler}. */
  DPM_SOLVER_MULTISTEP("DPMSolverMultistepScheduler");

  private final String diffusersClass;

  SchedulerType(String diffusersClass) {
    this.diffusersClass = diffusersClass;
  }

  /** The diffusers class whose semantics this type follows (its {@code _class_name}). */
  public String diffusersClass() {
    return diffusersClass;
  }
}
