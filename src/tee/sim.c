/* The sim backend: for debugging only.
 *
 * A TA image is a static-PIE executable, which cannot be loaded into the host process; so the sim
 * backend runs the very same image as a plain child process, through the same ring, but WITHOUT
 * the sandbox: no host-side restrictions (descriptors 0-2 stay open, no rlimits, no capability
 * drop, no Landlock, no seccomp), and the ring header tells the runtime it runs under sim, so it
 * does not harden itself either (stays dumpable and traceable, no tracer check, an ordinary heap
 * instead of memfd_secret). A developer can run it under gdb or strace and see its output.
 *
 * Its reports say platform WARD_PLATFORM_SW_SIM ("ward-sim") and always carry WARD_ATTR_DEBUG,
 * so they fail every non-debug policy; its sealing keys are bound to that platform and attribute,
 * so they never equal a sandboxed instance's keys. */
#include "tee/tee_internal.h"

const ward_tee_profile ward__sim_profile = {"sim", WARD_PLATFORM_SW_SIM, WARD_ATTR_DEBUG, 0};
