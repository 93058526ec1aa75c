package dev.c2w.converter.pack;

import dev.c2w.converter.fs.FsTree;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * The container's run configuration as init reads it from {@code /c2w/image.conf} in the initramfs
 * (format in guest/README.md: "key: value" lines, values escaped as the emulator's info lines).
 * The image's {@code User} is resolved here, at conversion, against the image's own
 * {@code /etc/passwd} and {@code /etc/group}, as Docker resolves it at run time: "name", "uid",
 * "name:group", "uid:gid"; supplementary groups are the groups that list the user.
 */
public final class ImageConf {
    public record User(int uid, int gid, List<Integer> groups, String home) {}

    private ImageConf() {}

    /** Builds the file's bytes. */
    public static byte[] build(
            List<String> entrypoint, List<String> cmd, List<String> env, String workdir, User user, String hostname) {
        StringBuilder sb = new StringBuilder();
        sb.append("# c2w image configuration, read by the guest's init\n");
        if (entrypoint != null && !entrypoint.isEmpty()) words(sb, "entrypoint:", entrypoint);
        if (cmd != null && !cmd.isEmpty()) words(sb, "cmd:", cmd);
        if (env != null)
            for (String e : env) sb.append("env: ").append(escape(e, false)).append('\n');
        if (workdir != null && !workdir.isEmpty())
            sb.append("workdir: ").append(escape(workdir, false)).append('\n');
        sb.append("user: ").append(user.uid()).append(' ').append(user.gid());
        if (!user.groups().isEmpty()) {
            sb.append(' ');
            for (int k = 0; k < user.groups().size(); k++)
                sb.append(k == 0 ? "" : ",").append(user.groups().get(k));
        }
        sb.append('\n');
        sb.append("home: ").append(escape(user.home(), false)).append('\n');
        sb.append("hostname: ").append(escape(hostname, false)).append('\n');
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void words(StringBuilder sb, String key, List<String> words) {
        sb.append(key);
        for (String w : words) sb.append(' ').append(escape(w, true));
        sb.append('\n');
    }

    static String escape(String s, boolean word) {
        StringBuilder o = new StringBuilder();
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            if (c == '\\') o.append("\\\\");
            else if (c == '\n') o.append("\\n");
            else if (word && c == ' ') o.append("\\ ");
            else o.append(c);
        }
        return o.toString();
    }

    /** Resolves an image's User against its /etc/passwd and /etc/group. */
    public static User resolveUser(String spec, FsTree root) {
        List<String[]> passwd = table(root, "/etc/passwd");
        List<String[]> group = table(root, "/etc/group");
        if (spec == null || spec.isEmpty()) spec = "0";
        String userPart = spec;
        String groupPart = null;
        int colon = spec.indexOf(':');
        if (colon >= 0) {
            userPart = spec.substring(0, colon);
            groupPart = spec.substring(colon + 1);
        }
        Integer uid = null, gid = null;
        String name = null, home = null;
        for (String[] pw : passwd) {
            if (pw.length < 6) continue;
            boolean match = isNumber(userPart) ? pw[2].equals(userPart) : pw[0].equals(userPart);
            if (match) {
                name = pw[0];
                uid = parse(pw[2]);
                gid = parse(pw[3]);
                home = pw[5];
                break;
            }
        }
        if (uid == null) {
            if (!isNumber(userPart)) {
                throw new IllegalArgumentException(
                        "the image's User \"" + spec + "\": no user \"" + userPart + "\" in the image's /etc/passwd");
            }
            uid = Integer.parseUnsignedInt(userPart);
            gid = 0;
        }
        if (groupPart != null && !groupPart.isEmpty()) {
            Integer g = null;
            if (isNumber(groupPart)) {
                g = Integer.parseUnsignedInt(groupPart);
            } else {
                for (String[] gr : group)
                    if (gr.length >= 3 && gr[0].equals(groupPart)) {
                        g = parse(gr[2]);
                        break;
                    }
                if (g == null) {
                    throw new IllegalArgumentException("the image's User \"" + spec + "\": no group \"" + groupPart
                            + "\" in the image's /etc/group");
                }
            }
            gid = g;
        }
        TreeSet<Integer> groups = new TreeSet<>();
        groups.add(gid);
        if (name != null) {
            for (String[] gr : group) {
                if (gr.length < 4 || gr[3].isEmpty()) continue;
                for (String member : gr[3].split(",", -1)) {
                    if (member.trim().equals(name)) {
                        Integer g = parse(gr[2]);
                        if (g != null) groups.add(g);
                    }
                }
            }
        }
        if (home == null || home.isEmpty()) home = uid == 0 ? "/root" : "/";
        return new User(uid, gid, new ArrayList<>(groups), home);
    }

    private static List<String[]> table(FsTree root, String path) {
        byte[] b = root.readFile(path);
        List<String[]> rows = new ArrayList<>();
        if (b == null) return rows;
        for (String line : new String(b, StandardCharsets.UTF_8).split("\n", -1)) {
            if (line.isBlank() || line.startsWith("#")) continue;
            rows.add(line.split(":", -1));
        }
        return rows;
    }

    private static boolean isNumber(String s) {
        return !s.isEmpty() && s.chars().allMatch(Character::isDigit) && s.length() <= 10;
    }

    private static Integer parse(String s) {
        try {
            return Integer.parseUnsignedInt(s.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
