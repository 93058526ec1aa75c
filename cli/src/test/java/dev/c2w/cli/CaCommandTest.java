package dev.c2w.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.c2w.netstack.host.HostTransport;
import dev.c2w.proxy.ProxyConfig;
import dev.c2w.tls.CaKeyType;
import dev.c2w.tls.CertificateAuthority;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

class CaCommandTest {
    @TempDir
    Path tmp;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int ca(String... args) {
        CommandLine cl = new CommandLine(new CaCommand());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        return cl.execute(args);
    }

    @Test
    void exportCreatesOnceThenPrintsTheSameCertificate() throws Exception {
        Path dir = tmp.resolve("ca");
        assertThat(ca("path", "--ca-dir", dir.toString())).isZero();
        assertThat(out.toString().trim()).isEqualTo(dir.resolve("ca.crt").toString());
        assertThat(err.toString()).contains("not created yet");

        out.getBuffer().setLength(0);
        assertThat(ca("export", "--ca-dir", dir.toString(), "--ca-key", "rsa")).isZero();
        String pem = out.toString();
        assertThat(pem).startsWith("-----BEGIN CERTIFICATE-----").isEqualTo(Files.readString(dir.resolve("ca.crt")));
        assertThat(err.toString()).contains("created a new proxy CA");

        out.getBuffer().setLength(0);
        err.getBuffer().setLength(0);
        assertThat(ca("export", "--ca-dir", dir.toString())).isZero();
        assertThat(out.toString()).isEqualTo(pem);
        assertThat(err.toString()).doesNotContain("created");
    }

    @Test
    void brokenDirectoryIsReportedNotReplaced() throws Exception {
        Path dir = tmp.resolve("ca");
        assertThat(ca("export", "--ca-dir", dir.toString())).isZero();
        Files.writeString(dir.resolve("ca.key"), "garbage");
        assertThat(ca("export", "--ca-dir", dir.toString())).isEqualTo(1);
        assertThat(err.toString()).contains("ca.key").contains("delete " + dir);
        assertThat(Files.readString(dir.resolve("ca.key"))).isEqualTo("garbage");
    }

    @Test
    void badKeyTypeIsAUsageError() {
        assertThat(ca("export", "--ca-dir", tmp.toString(), "--ca-key", "dsa")).isEqualTo(2);
        assertThat(err.toString()).contains("use ecdsa (default) or rsa");
    }

    @Command(name = "run")
    static final class Run implements Runnable {
        @Mixin
        ProxyOptions proxy = new ProxyOptions();

        @Override
        public void run() {}
    }

    @Test
    void proxyOptionsBuildAConfig() throws Exception {
        Path caDir = tmp.resolve("ca2");
        Path extra = tmp.resolve("extra.pem");
        Files.writeString(
                extra,
                CertificateAuthority.loadOrCreate(tmp.resolve("other"), CaKeyType.ECDSA)
                        .certificatePem());
        Run run = new Run();
        new CommandLine(run)
                .parseArgs(
                        "--ca-dir",
                        caDir.toString(),
                        "--upstream-ca",
                        extra.toString(),
                        "--allow-host",
                        "*.example.com",
                        "--deny-host",
                        "bad.example.com");
        try (HostTransport t = HostTransport.create(1, true)) {
            ProxyConfig c = run.proxy.buildConfig(t);
            assertThat(c.upstreamCas()).hasSize(1);
            assertThat(c.policy().allows("a.example.com")).isTrue();
            assertThat(c.policy().allows("bad.example.com")).isFalse();
            assertThat(c.policy().allows("example.org")).isFalse();
            assertThat(c.leaves().ca().directory()).isEqualTo(caDir);
        }
    }

    @Test
    void badUpstreamCaFileNamesTheOption() throws Exception {
        Path junk = tmp.resolve("junk.pem");
        Files.writeString(junk, "not a certificate");
        Run run = new Run();
        new CommandLine(run).parseArgs("--ca-dir", tmp.resolve("ca3").toString(), "--upstream-ca", junk.toString());
        try (HostTransport t = HostTransport.create(1, true)) {
            assertThatThrownBy(() -> run.proxy.buildConfig(t))
                    .isInstanceOf(CommandLine.ParameterException.class)
                    .hasMessageContaining("--upstream-ca")
                    .hasMessageContaining(junk.toString());
        }
    }
}
