/* SPDX-License-Identifier: MIT */
/*
 * Functions with known first bytes for test_rewrite_apply.c, one per kind
 * of displaced instruction. Each comment gives the C meaning and the bytes
 * the 5-byte jmp displaces.
 */
	.intel_syntax noprefix

	.data
	.balign 8
	.globl rw_test_value
	.hidden rw_test_value
rw_test_value:
	.quad 1000
	.globl rw_test_retaddr
	.hidden rw_test_retaddr
rw_test_retaddr:
	.quad 0
	.globl rw_test_fnptr
	.hidden rw_test_fnptr
rw_test_fnptr:
	.quad rw_helper
	.globl rw_test_body_ran
	.hidden rw_test_body_ran
rw_test_body_ran:
	.quad 0

	.text

/* rw_helper(a) = 2a, and records its return address */
	.balign 16
	.type rw_helper, @function
rw_helper:
	mov rcx, qword ptr [rsp]
	mov qword ptr [rip + rw_test_retaddr], rcx
	lea rax, [rdi + rdi]
	ret
	.size rw_helper, .-rw_helper

/* rw_fn_riprel(a) = rw_test_value + a; displaced: mov rax,[rip+x] (7) */
	.balign 16
	.globl rw_fn_riprel
	.type rw_fn_riprel, @function
rw_fn_riprel:
	mov rax, qword ptr [rip + rw_test_value]
	add rax, rdi
	ret
	.size rw_fn_riprel, .-rw_fn_riprel

/* rw_fn_jcc(a) = a == 0 ? 42 : 2a; displaced: test (3) + je rel8 (2) */
	.balign 16
	.globl rw_fn_jcc
	.type rw_fn_jcc, @function
rw_fn_jcc:
	test rdi, rdi
	je 1f
	lea rax, [rdi + rdi]
	ret
1:	mov eax, 42
	ret
	.size rw_fn_jcc, .-rw_fn_jcc

/* rw_fn_call(a) = rw_helper(a) + 1; displaced: push (1) + call rel32 (5) */
	.balign 16
	.globl rw_fn_call
	.type rw_fn_call, @function
rw_fn_call:
	push rbx
	call rw_helper
	.globl rw_fn_call_ret
rw_fn_call_ret:
	pop rbx
	add rax, 1
	ret
	.size rw_fn_call, .-rw_fn_call

/* rw_fn_callptr(a) = rw_helper(a) + 1 through a pointer;
 * displaced: push (1) + call [rip+x] (6) */
	.balign 16
	.globl rw_fn_callptr
	.type rw_fn_callptr, @function
rw_fn_callptr:
	push rbx
	call qword ptr [rip + rw_test_fnptr]
	.globl rw_fn_callptr_ret
rw_fn_callptr_ret:
	pop rbx
	add rax, 1
	ret
	.size rw_fn_callptr, .-rw_fn_callptr

/* rw_fn_loop(a) = a + (a-1) + ... + 1; its loop jumps back to entry+2,
 * inside the displaced range: must be refused */
	.balign 16
	.globl rw_fn_loop
	.type rw_fn_loop, @function
rw_fn_loop:
	xor eax, eax
1:	add rax, rdi
	dec rdi
	jnz 1b
	ret
	.size rw_fn_loop, .-rw_fn_loop

/* rw_fn_jrcxz(a) = a == 0 ? 7 : 1; displaced: mov (3) + jrcxz (2) */
	.balign 16
	.globl rw_fn_jrcxz
	.type rw_fn_jrcxz, @function
rw_fn_jrcxz:
	mov rcx, rdi
	jrcxz 1f
	mov eax, 1
	ret
1:	mov eax, 7
	ret
	.size rw_fn_jrcxz, .-rw_fn_jrcxz

/* rw_fn_sum6(a..f) = a+b+c+d+e+f; displaced: lea (4) + add (3) */
	.balign 16
	.globl rw_fn_sum6
	.type rw_fn_sum6, @function
rw_fn_sum6:
	lea rax, [rdi + rsi]
	add rax, rdx
	add rax, rcx
	add rax, r8
	add rax, r9
	ret
	.size rw_fn_sum6, .-rw_fn_sum6

/* rw_fn_mid(a) = 7a + 10 + (a < 100 ? 1000 : 0). The site is mid-function
 * with caller-saved registers, xmm1, the flags and the red zone live
 * across it; displaced: a 5-byte nop */
	.balign 16
	.globl rw_fn_mid
	.type rw_fn_mid, @function
rw_fn_mid:
	mov rcx, rdi
	lea r8, [rdi + 1]
	lea r9, [rdi + 2]
	lea r10, [rdi + 3]
	lea r11, [rdi + 4]
	movq xmm1, rdi
	mov qword ptr [rsp - 8], rdi
	cmp rdi, 100
	.globl rw_fn_mid_site
rw_fn_mid_site:
	nop dword ptr [rax + rax]
	mov eax, 0
	jae 2f
	mov eax, 1000
2:	add rax, rcx
	add rax, r8
	add rax, r9
	add rax, r10
	add rax, r11
	movq rdx, xmm1
	add rax, rdx
	add rax, qword ptr [rsp - 8]
	ret
	.size rw_fn_mid, .-rw_fn_mid

/* rw_fn_flags(f) = the flags after a mid-function site, set to f just
 * before it (popfq): every flag a handler may change must be back, DF
 * included; displaced: a 5-byte nop */
	.balign 16
	.globl rw_fn_flags
	.type rw_fn_flags, @function
rw_fn_flags:
	push rdi
	popfq
	.globl rw_fn_flags_site
rw_fn_flags_site:
	nop dword ptr [rax + rax]
	pushfq
	pop rax
	cld
	ret
	.size rw_fn_flags, .-rw_fn_flags

/* rw_fn_xline(a) = a + 5, starting 3 bytes before a cache line ends: the
 * jmp crosses into the next line (the guarded 3-step write) */
	.balign 64
	.skip 61, 0xcc
	.globl rw_fn_xline
	.type rw_fn_xline, @function
rw_fn_xline:
	lea rax, [rdi + 0x12345]
	sub rax, 0x12340
	ret
	.size rw_fn_xline, .-rw_fn_xline

/* rw_fn_line63(a) = a + 1 at the last byte of a line: cannot be patched
 * atomically without int3 */
	.balign 64
	.skip 63, 0xcc
	.globl rw_fn_line63
	.type rw_fn_line63, @function
rw_fn_line63:
	lea rax, [rdi + 1]
	ret
	.size rw_fn_line63, .-rw_fn_line63

/* rw_fn_override(a): rw_test_body_ran = a, returns a + 1; a handler that
 * returns 1 skips it all. displaced: mov [rip+x],rdi (7) */
	.balign 16
	.globl rw_fn_override
	.type rw_fn_override, @function
rw_fn_override:
	mov qword ptr [rip + rw_test_body_ran], rdi
	push rbx
	lea rbx, [rdi + 1]
	mov rax, rbx
	pop rbx
	ret
	.size rw_fn_override, .-rw_fn_override

/* rw_fn_stack7(a, b, c, d, e, f, g) = a + g, g on the stack; displaced:
 * push rbp (1) + mov rbp, rsp (3) + mov rax, [rbp + 16] (4) */
	.balign 16
	.globl rw_fn_stack7
	.type rw_fn_stack7, @function
rw_fn_stack7:
	push rbp
	mov rbp, rsp
	mov rax, qword ptr [rbp + 16]
	add rax, rdi
	pop rbp
	ret
	.size rw_fn_stack7, .-rw_fn_stack7

/* A gate for a handler returning 2 (rewrite.h): calls the displaced
 * instructions, counts the return and goes back to rw_test_gate_ret. */
	.balign 16
	.globl rw_test_gate
	.type rw_test_gate, @function
rw_test_gate:
	call qword ptr [rsp - 16]
	add qword ptr [rip + rw_test_gate_hits], 1
	push qword ptr [rip + rw_test_gate_ret]
	ret
	.size rw_test_gate, .-rw_test_gate

	.data
	.balign 8
	.globl rw_test_gate_ret
	.hidden rw_test_gate_ret
rw_test_gate_ret:
	.quad 0
	.globl rw_test_gate_hits
	.hidden rw_test_gate_hits
rw_test_gate_hits:
	.quad 0

	.section .note.GNU-stack, "", @progbits
