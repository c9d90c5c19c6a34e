`timescale 1 ns / 1 ps
// l1ad_trigger: valid / threshold / trigger wrapper around a generated l1ad core (da4ml, l1ad_core_wrapper).
//
// Parameters come from the core's metadata.json ("l1ad" section, see l1ad.rtl.generate):
//   N_IN, IN_W    number of inputs and bits per input code (the model's input format, two's complement)
//   CORE_W        width of the core's score output (unsigned, lsb = 2**-(score frac - SCORE_SHIFT))
//   SCORE_W       width of the score output (the FixedPointModel's score format, unsigned)
//   SCORE_SHIFT   left shift from the core's lsb to the score format's lsb
//   LATENCY       core pipeline latency in clock cycles (metadata.json "latency")
//
// Timing: an event presented with in_valid=1 at clock edge t gives score_valid=1 (with its score and
// trigger) after edge t + LATENCY + 1 (the +1 is this wrapper's output register). II = 1: one event
// per clock, no bubbles. Inputs are codes of the input format; out-of-range physics values are
// saturated by the preprocessing (l1ad.data.preprocess) exactly as the golden model defines.
//
// Threshold: a register loaded with threshold_we. Each event is compared with the threshold in force
// when it ENTERS: a threshold written in the same cycle as an event applies to that event and all later
// ones (the value travels with the event through the pipeline). trigger = (score > threshold), strictly.
// After reset the threshold is all ones (the largest score code), so nothing fires until it is loaded.
//
// Reset (synchronous, active high) clears the valid pipeline and the outputs: events in flight are
// dropped, no score_valid / trigger appears until an event presented after reset reaches the output.
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
    output reg  [SCORE_W-1:0]     score,
    output reg                    score_valid,
    output reg                    trigger
);
    wire [CORE_W-1:0] core_score;

    l1ad_core_wrapper core (
        .clk(clk),
        .model_inp(in_codes),
        .model_out(core_score)
    );

    // Score in the score format: zero-extend and shift the core's lsb into place.
    // verilator lint_off WIDTHEXPAND
    wire [SCORE_W-1:0] core_score_ext = core_score;  // unsigned: zero-extended
    // verilator lint_on WIDTHEXPAND
    wire [SCORE_W-1:0] core_score_aligned = core_score_ext << SCORE_SHIFT;

    reg  [SCORE_W-1:0] threshold_reg;
    wire [SCORE_W-1:0] threshold_now = threshold_we ? threshold : threshold_reg;

    // Valid and threshold pipelines: entry k holds the event sampled k+1 edges ago; the core's output
    // register holds that event's score when k == LATENCY, and the output register takes it one edge later.
    reg [LATENCY:0]   valid_pipe;
    reg [SCORE_W-1:0] threshold_pipe [0:LATENCY];

    integer s;
    always @(posedge clk) begin
        if (rst) begin
            threshold_reg <= {SCORE_W{1'b1}};
            valid_pipe    <= {(LATENCY+1){1'b0}};
            score_valid   <= 1'b0;
            trigger       <= 1'b0;
        end else begin
            if (threshold_we) threshold_reg <= threshold;
            valid_pipe[0] <= in_valid;
            for (s = 1; s <= LATENCY; s = s + 1) valid_pipe[s] <= valid_pipe[s-1];
            score_valid <= valid_pipe[LATENCY];
            trigger     <= valid_pipe[LATENCY] && (core_score_aligned > threshold_pipe[LATENCY]);
        end
        // data path: no reset needed (qualified by the valids)
        threshold_pipe[0] <= threshold_now;
        for (s = 1; s <= LATENCY; s = s + 1) threshold_pipe[s] <= threshold_pipe[s-1];
        score <= core_score_aligned;
    end
endmodule
