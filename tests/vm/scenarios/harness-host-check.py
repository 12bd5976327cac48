from vmharness.kstate import expect_eq


def check(run):
    st = run.checkpoint("start")
    expect_eq(st.link("eth1")["operstate"], "DOWN", "eth1 operstate (NICs start down)")
    expect_eq(st.addrs("eth1"), ["10.9.9.9/24"], f"{st.label}: eth1 IPv4")
