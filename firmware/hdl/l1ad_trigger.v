`timescale 1 ns / 1 ps
// l1ad_trigger: valid / threshold / trigger wrapper around a generated l1ad core (da4ml, module l1ad_core).
//
// Parameters come from the core's metadata.json ("l1ad" section, see l1ad.rtl.generate):
//   N_IN, IN_W    number of inputs and bits per input code (the model's input format, two's complement)
//   CORE_W        width of the core's score output (unsigned, lsb = 2**-(score frac - SCORE_SHIFT))
//   SCORE_W       width of the score output and of the threshold (the FixedPointModel's score format)
//   SCORE_SHIFT   left shift from the core's lsb to the score format's lsb
//   LATENCY       core pipeline latency in clock cycles (metadata.json "latency")
//
// The core is traced with the threshold as one more input (after the N_IN codes) and computes
// trigger = (score > threshold), strictly, inside its own pipeline, next to the score: the comparison
// shares the score's adder tree and costs no extra register stage. Core ports (da4ml packing, each
// value at its own width, first value in the low bits):
//   model_inp = {threshold[SCORE_W-1:0], code[N_IN-1], ..., code[0]}   model_out = {trigger, score[CORE_W-1:0]}
//
// Timing: an event presented with in_valid=1 at clock edge t gives score_valid=1 (with its score and
// trigger) after edge t + LATENCY (the core registers its inputs and its outputs). II = 1: one event per
// clock, no bubbles. Inputs are codes of the input format; out-of-range physics values are saturated by
// the preprocessing (l1ad.data.preprocess) exactly as the golden model defines.
//
// Threshold: a register loaded with threshold_we. Each event is compared with the threshold in force
// when it ENTERS: a threshold written in the same cycle as an event applies to that event and all later
// ones (the value enters the core with the event). After reset the threshold is all ones (the largest
// score code), so nothing fires until it is loaded.
//
// Reset (synchronous, active high) clears the valid pipeline: events in flight are dropped, score_valid
// and trigger stay low until an event presented after reset reaches the output.
module l1ad_trigger #(
    parameter integer N_IN = 57,
    parameter integer IN_W = 16,
    parameter integer CORE_W = 32,
    parameter integer SCORE_W = 32,
    parameter integer SCORE_SHIFT = 0,
    parameter integer LATENCY = 1
) (
    input  wire                   clk,
    input  wire                   rst,
    input  wire                   in_valid,
    input  wire [N_IN*IN_W-1:0]   in_codes,      // input j at bits [IN_W*j +: IN_W]
    input  wire [SCORE_W-1:0]     threshold,
    input  wire                   threshold_we,
    output wire [SCORE_W-1:0]     score,
    output wire                   score_valid,
    output wire                   trigger
);
    reg  [SCORE_W-1:0] threshold_reg;
    wire [SCORE_W-1:0] threshold_now = threshold_we ? threshold : threshold_reg;
    wire [CORE_W:0]    core_out;     // {trigger, score}, registered in the core

    l1ad_core core (
        .clk(clk),
        .model_inp({threshold_now, in_codes}),
        .model_out(core_out)
    );

    // Valid pipeline: entry k holds the valid sampled k edges before the last one (entry 0: the last edge);
    // the core's output register holds that event's score and trigger when k == LATENCY.
    reg [LATENCY:0] valid_pipe;

    always @(posedge clk) begin
        if (rst) begin
            threshold_reg <= {SCORE_W{1'b1}};
            valid_pipe    <= {(LATENCY+1){1'b0}};
        end else begin
            if (threshold_we) threshold_reg <= threshold;
            valid_pipe <= {valid_pipe[LATENCY-1:0], in_valid};
        end
    end

    // Score in the score format: zero-extend and shift the core's lsb into place (data qualified by valid).
    // verilator lint_off WIDTHEXPAND
    wire [SCORE_W-1:0] core_score_ext = core_out[CORE_W-1:0];  // unsigned: zero-extended
    // verilator lint_on WIDTHEXPAND
    assign score       = core_score_ext << SCORE_SHIFT;
    assign score_valid = valid_pipe[LATENCY];
    assign trigger     = valid_pipe[LATENCY] & core_out[CORE_W];
endmodule
