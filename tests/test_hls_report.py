"""csynth report parsing on report files written here in Vivado HLS / Vitis HLS XML format."""

from __future__ import annotations

from pathlib import Path

import pytest

from l1ad.hls.report import ReportError, find_csynth_report, format_report, parse_csynth_report

VIVADO_CSYNTH = """<?xml version="1.0" encoding="UTF-8"?>
<profile>
  <ReportVersion>
    <Version>2020.1</Version>
  </ReportVersion>
  <UserAssignments>
    <unit>ns</unit>
    <ProductFamily>virtexuplus</ProductFamily>
    <Part>xcvu9p-flga2104-2L-e</Part>
    <TopModelName>myproject</TopModelName>
    <TargetClockPeriod>5.00</TargetClockPeriod>
    <ClockUncertainty>0.62</ClockUncertainty>
    <FlowTarget>vivado</FlowTarget>
  </UserAssignments>
  <PerformanceEstimates>
    <PipelineType>function</PipelineType>
    <SummaryOfTimingAnalysis>
      <unit>ns</unit>
      <EstimatedClockPeriod>4.371</EstimatedClockPeriod>
    </SummaryOfTimingAnalysis>
    <SummaryOfOverallLatency>
      <unit>clock cycles</unit>
      <Best-caseLatency>9</Best-caseLatency>
      <Average-caseLatency>9</Average-caseLatency>
      <Worst-caseLatency>11</Worst-caseLatency>
      <Best-caseRealTimeLatency>45.000 ns</Best-caseRealTimeLatency>
      <Average-caseRealTimeLatency>45.000 ns</Average-caseRealTimeLatency>
      <Worst-caseRealTimeLatency>55.000 ns</Worst-caseRealTimeLatency>
      <Interval-min>1</Interval-min>
      <Interval-max>1</Interval-max>
    </SummaryOfOverallLatency>
  </PerformanceEstimates>
  <AreaEstimates>
    <Resources>
      <BRAM_18K>2</BRAM_18K>
      <DSP48E>684</DSP48E>
      <FF>23644</FF>
      <LUT>118224</LUT>
      <URAM>0</URAM>
    </Resources>
    <AvailableResources>
      <BRAM_18K>4320</BRAM_18K>
      <DSP48E>6840</DSP48E>
      <FF>2364480</FF>
      <LUT>1182240</LUT>
      <URAM>960</URAM>
    </AvailableResources>
  </AreaEstimates>
</profile>
"""


def _write(project: Path, text: str, solution: str = "solution1") -> Path:
    path = project / "myproject_prj" / solution / "syn" / "report" / "myproject_csynth.xml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_parse_vivado_csynth(tmp_path):
    path = _write(tmp_path, VIVADO_CSYNTH)
    assert find_csynth_report(tmp_path) == path
    r = parse_csynth_report(path)
    assert r["part"] == "xcvu9p-flga2104-2L-e" and r["top"] == "myproject"
    assert r["clock_period_ns"] == {"target": 5.0, "estimated": 4.371}
    assert r["latency_cycles"] == {"best": 9, "worst": 11}
    assert r["latency_ns"] == {"best": 45.0, "worst": 55.0}
    assert r["ii_cycles"] == {"min": 1, "max": 1}
    res = r["resources"]
    assert res["LUT"] == {"used": 118224, "available": 1182240, "percent": 10.0}
    assert res["DSP"] == {"used": 684, "available": 6840, "percent": 10.0}
    assert res["FF"]["percent"] == 1.0 and res["BRAM_18K"]["used"] == 2 and res["URAM"]["used"] == 0
    text = format_report(r)
    assert "latency 9-11 cycles (45.0-55.0 ns), II 1-1" in text and "10.00%" in text


def test_parse_vitis_csynth_with_namespace_and_dsp_tag(tmp_path):
    vitis = (
        VIVADO_CSYNTH.replace("<profile>", '<profile xmlns="http://www.xilinx.com/hls/report">')
        .replace("DSP48E>", "DSP>")
        .replace("<Part>xcvu9p-flga2104-2L-e", "<Part>xcvu13p-flga2577-2-e")
        .replace("<DSP>684</DSP>", "<DSP>1228</DSP>")
        .replace("<DSP>6840</DSP>", "<DSP>12288</DSP>")
    )
    r = parse_csynth_report(_write(tmp_path, vitis))
    assert r["part"] == "xcvu13p-flga2577-2-e"
    assert r["resources"]["DSP"] == {"used": 1228, "available": 12288, "percent": round(100 * 1228 / 12288, 3)}


def test_report_errors(tmp_path):
    with pytest.raises(ReportError, match="no myproject_csynth.xml"):
        find_csynth_report(tmp_path)
    with pytest.raises(ReportError, match="no such report"):
        parse_csynth_report(tmp_path / "missing.xml")
    bad = tmp_path / "bad.xml"
    bad.write_text("<profile><oops></profile>")
    with pytest.raises(ReportError, match="not valid XML"):
        parse_csynth_report(bad)
    no_latency = tmp_path / "nolat.xml"
    no_latency.write_text(VIVADO_CSYNTH.replace("<Worst-caseLatency>11</Worst-caseLatency>", ""))
    with pytest.raises(ReportError, match="Worst-caseLatency"):
        parse_csynth_report(no_latency)
    no_lut = tmp_path / "nolut.xml"
    no_lut.write_text(VIVADO_CSYNTH.replace("<LUT>118224</LUT>", ""))
    with pytest.raises(ReportError, match="Resources/LUT"):
        parse_csynth_report(no_lut)
    garbled = tmp_path / "garbled.xml"
    garbled.write_text(VIVADO_CSYNTH.replace("<Best-caseLatency>9<", "<Best-caseLatency>n/a<"))
    with pytest.raises(ReportError, match="not a number"):
        parse_csynth_report(garbled)
