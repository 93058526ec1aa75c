package dev.c2w.converter.image;

import java.nio.file.Path;
import java.util.Set;
import java.util.function.Consumer;

/**
 * How to talk to registries.
 *
 * @param insecureRegistries hosts ("host" or "host:port") that may be reached over plain HTTP or
 *                           HTTPS with an untrusted certificate; loopback hosts always may
 * @param username           explicit credentials (with {@code password}), or null to look them up
 * @param password           see {@code username}
 * @param useDockerConfig    whether to look credentials up in the Docker config (auths, credsStore,
 *                           credHelpers) when no explicit ones are given
 * @param dockerConfig       the Docker config file; null = $DOCKER_CONFIG/config.json, else
 *                           ~/.docker/config.json
 * @param log                receives debug and warning lines (null = dropped)
 */
public record RegistryOptions(
        Set<String> insecureRegistries,
        String username,
        String password,
        boolean useDockerConfig,
        Path dockerConfig,
        Consumer<String> log) {
    public RegistryOptions {
        insecureRegistries = insecureRegistries == null ? Set.of() : Set.copyOf(insecureRegistries);
        if (log == null) log = s -> {};
    }

    public static RegistryOptions defaults() {
        return new RegistryOptions(Set.of(), null, null, true, null, null);
    }

    public RegistryOptions withInsecureRegistries(Set<String> hosts) {
        return new RegistryOptions(hosts, username, password, useDockerConfig, dockerConfig, log);
    }

    public RegistryOptions withCredentials(String user, String pass) {
        return new RegistryOptions(insecureRegistries, user, pass, useDockerConfig, dockerConfig, log);
    }

    public RegistryOptions withDockerConfig(boolean use, Path file) {
        return new RegistryOptions(insecureRegistries, username, password, use, file, log);
    }

    public RegistryOptions withLog(Consumer<String> sink) {
        return new RegistryOptions(insecureRegistries, username, password, useDockerConfig, dockerConfig, sink);
    }
}
