// SPDX-License-Identifier: MIT
/*
 * IR to machine code: LLVM's new pass manager at the requested level, then
 * the x86-64 back end for the host CPU, position-independent, small code
 * model, into an ELF relocatable object in memory. Images are compiled and
 * run on the same machine (the supervisor compiles for the agents beside
 * it), so the host's CPU features are used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include "jit-internal.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_llvm(void)
{
	LLVMInitializeX86TargetInfo();
	LLVMInitializeX86Target();
	LLVMInitializeX86TargetMC();
	LLVMInitializeX86AsmPrinter();
}

static int llvm_failed(struct jit_err *e, const char *what, char *msg)
{
	int err = jit_error(e, -EIO, "%s: %s", what, msg ? msg : "(no message)");

	LLVMDisposeMessage(msg);
	return err;
}

static LLVMTargetMachineRef host_machine(struct jit_err *e, unsigned opt_level)
{
	static const LLVMCodeGenOptLevel levels[] = {LLVMCodeGenLevelNone, LLVMCodeGenLevelLess,
						     LLVMCodeGenLevelDefault,
						     LLVMCodeGenLevelAggressive};
	char *triple = LLVMGetDefaultTargetTriple(), *msg = NULL;
	char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
	LLVMTargetMachineRef tm = NULL;
	LLVMTargetRef target;

	if (LLVMGetTargetFromTriple(triple, &target, &msg))
		llvm_failed(e, "no x86-64 target in this LLVM", msg);
	else
		tm = LLVMCreateTargetMachine(target, triple, cpu, features, levels[opt_level],
					     LLVMRelocPIC, LLVMCodeModelSmall);
	LLVMDisposeMessage(triple);
	LLVMDisposeMessage(cpu);
	LLVMDisposeMessage(features);
	if (!tm && !msg)
		jit_error(e, -EIO, "LLVM cannot make a target machine for this host");
	return tm;
}

static int optimise(LLVMModuleRef mod, LLVMTargetMachineRef tm, unsigned opt_level,
		    struct jit_err *e)
{
	static const char *const pipelines[] = {"default<O0>", "default<O1>", "default<O2>",
						"default<O3>"};
	LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
	LLVMErrorRef lerr = LLVMRunPasses(mod, pipelines[opt_level], tm, po);
	int err = 0;

	LLVMDisposePassBuilderOptions(po);
	if (lerr)
		err = llvm_failed(e, "LLVM optimisation failed", LLVMGetErrorMessage(lerr));
	return err;
}

static int emit_object(LLVMModuleRef mod, LLVMTargetMachineRef tm, void **obj, size_t *obj_len,
		       struct jit_err *e)
{
	LLVMMemoryBufferRef buf = NULL;
	char *msg = NULL;
	size_t n;

	if (LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &msg, &buf))
		return llvm_failed(e, "LLVM code generation failed", msg);
	n = LLVMGetBufferSize(buf);
	*obj = malloc(n ? n : 1);
	if (!*obj) {
		LLVMDisposeMemoryBuffer(buf);
		return jit_error(e, -ENOMEM, "out of memory");
	}
	memcpy(*obj, LLVMGetBufferStart(buf), n);
	*obj_len = n;
	LLVMDisposeMemoryBuffer(buf);
	return 0;
}

int jit_codegen(LLVMModuleRef mod, unsigned opt_level, const char *ir_path, void **obj,
		size_t *obj_len, struct jit_err *e)
{
	LLVMTargetMachineRef tm;
	char *msg = NULL, *layout;
	int err;

	pthread_once(&init_once, init_llvm);
	if (LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg))
		return llvm_failed(e, "the JIT built invalid IR (a bpftime bug)", msg);
	LLVMDisposeMessage(msg);
	tm = host_machine(e, opt_level);
	if (!tm)
		return -EIO;
	{
		LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);

		layout = LLVMCopyStringRepOfTargetData(td);
		LLVMSetDataLayout(mod, layout);
		LLVMDisposeMessage(layout);
		LLVMDisposeTargetData(td);
	}
	{
		char *triple = LLVMGetTargetMachineTriple(tm);

		LLVMSetTarget(mod, triple);
		LLVMDisposeMessage(triple);
	}
	err = optimise(mod, tm, opt_level, e);
	if (!err && ir_path && LLVMPrintModuleToFile(mod, ir_path, &msg))
		err = llvm_failed(e, "cannot write the IR", msg);
	if (!err)
		err = emit_object(mod, tm, obj, obj_len, e);
	LLVMDisposeTargetMachine(tm);
	return err;
}
