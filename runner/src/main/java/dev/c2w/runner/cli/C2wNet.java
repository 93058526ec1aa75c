package dev.c2w.runner.cli;
public final class C2wNet { public static void main(String[] a) { System.out.println("hi"); } }
