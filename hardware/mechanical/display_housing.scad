// Display housing: a tray for the 7-inch Touch Display 2 with the Raspberry Pi 5 (and its
// Active Cooler) screwed to the display's back, plus a front frame that holds the display in.
// It bolts to the handle clamp's pad (two M5, 75 mm apart) and hangs on the basket side of
// the handle, facing the shopper. Slots in the floor let the cooler breathe; the cable port at
// the bottom takes the camera FFC, the USB-C power lead and the HX711 wires.
//
// Parameters (openscad -D name=value):
//   part         "tray", "frame" or "both"
//   depth_mm     inside depth behind the display (Pi 5 + Active Cooler + FFC bend)

part = "both";
depth_mm = 34;

display = [189.5, 120, 15];   // Touch Display 2 7-inch outline (Raspberry Pi's documentation)
view = [155.5, 88];           // its viewing area, centred
clear = 0.6;
wall = 2.4;
lip = 3;                       // how far the frame overlaps the display's edge
screw_d = 2.9;                 // M3 self-tapping into the tray's corner posts
inside = [display[0] + 2 * clear, display[1] + 2 * clear, display[2] + depth_mm];
outside = [inside[0] + 2 * wall, inside[1] + 2 * wall, inside[2] + wall];
post = 8;
$fn = 48;

module posts(h, d) {
    for (x = [post / 2, outside[0] - post / 2], y = [post / 2, outside[1] - post / 2])
        translate([x, y, 0]) cylinder(h = h, d = d);
}

module tray() {
    difference() {
        union() {
            difference() {
                cube(outside);
                translate([wall, wall, wall]) cube([inside[0], inside[1], inside[2] + 1]);
            }
            intersection() { cube(outside); posts(outside[2], post); }
        }
        translate([0, 0, wall]) posts(outside[2], screw_d);
        // Mounting to the clamp pad: two M5 holes 75 mm apart in the back.
        for (dx = [-37.5, 37.5]) translate([outside[0] / 2 + dx, outside[1] / 2, -1])
            cylinder(h = wall + 2, d = 5.5);
        // Ventilation slots beside the Pi.
        for (i = [0:5]) translate([outside[0] / 2 - 45 + i * 16, 15, -1]) cube([8, 30, wall + 2]);
        // Cable port in the bottom wall.
        translate([outside[0] / 2 - 15, -1, wall + 6]) cube([30, wall + 2, 12]);
    }
}

module frame() {
    difference() {
        cube([outside[0], outside[1], wall]);
        translate([(outside[0] - view[0]) / 2 - 2, (outside[1] - view[1]) / 2 - 2, -1])
            cube([view[0] + 4, view[1] + 4, wall + 2]);
        translate([0, 0, -1]) posts(wall + 2, 3.4);
    }
    // The lip sits just inside the tray's walls and presses on the display's edge.
    difference() {
        translate([wall + 0.3, wall + 0.3, -lip]) cube([inside[0] - 0.6, inside[1] - 0.6, lip]);
        translate([wall + lip, wall + lip, -lip - 1]) cube([inside[0] - 2 * lip, inside[1] - 2 * lip, lip + 2]);
        for (x = [post / 2, outside[0] - post / 2], y = [post / 2, outside[1] - post / 2])
            translate([x, y, -lip - 1]) cylinder(h = lip + 2, d = post + 1);
    }
}

if (part == "tray") tray();
else if (part == "frame") frame();
else { tray(); translate([0, 0, outside[2] + 10]) frame(); }
